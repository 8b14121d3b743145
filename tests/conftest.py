import copy
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
SPIDER_DIR = ROOT.parent / "shared" / "data" / "spider"


@pytest.fixture
def config() -> dict:
    with open(ROOT / "config" / "config.yaml") as fh:
        return yaml.safe_load(fh)


@pytest.fixture
def search_cfg(config) -> dict:
    return copy.deepcopy(config["search"])
