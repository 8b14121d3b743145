"""`hhnas predict`'s inputs, refused before any model loads: empty texts, and CSV files read as
the workflow reads a dataset's (file:line and the fix for every fault)."""

import pytest

from hhnas.final.cli import checked_texts, main, read_texts


def _csv(tmp_path, content: bytes, name="q.csv"):
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def test_a_csv_is_read_with_its_rows_and_texts(tmp_path):
    path = _csv(tmp_path, b'\xef\xbb\xbfid,text\n1,How many singers?\n\n2,"Cars, by year"\n')
    rows, texts = read_texts(path, "text")
    assert texts == ["How many singers?", "Cars, by year"]
    assert rows == [{"id": "1", "text": "How many singers?"}, {"id": "2", "text": "Cars, by year"}]


def test_bytes_that_are_not_utf8_name_the_line_and_the_iconv_fix(tmp_path):
    path = _csv(tmp_path, b"id,text\n1,fine\n2,caf\xe9\n")
    with pytest.raises(ValueError) as err:
        read_texts(path, "text")
    assert f"{path}:3: not UTF-8 (byte 0xe9" in str(err.value)
    assert "iconv -f latin1 -t utf-8 q.csv > q.csv.utf8" in str(err.value)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"id,text\n1,fine\n2,\n", ":3: empty text in column 'text'; fill it in or remove the row"),
        (b"id,text\n1,fine\n2,   \n", ":3: empty text in column 'text'"),
        (b"id,text\n1,a,b\n", ":2: 3 field(s), the header has 2"),
        (b"id,question\n1,a\n", "no column 'text' (columns: id, question); name the text column"),
        (b"text,text\n1,a\n", ":1: column 'text' is named twice"),
        (b"", ":1: empty file"),
    ],
    ids=["empty", "spaces", "fields", "column", "twice", "no header"],
)
def test_a_faulty_csv_names_file_line_and_fix(tmp_path, content, message):
    path = _csv(tmp_path, content)
    with pytest.raises(ValueError) as err:
        read_texts(path, "text")
    assert message in str(err.value)
    assert str(err.value).startswith(path)


def test_an_absent_input_is_named(tmp_path):
    with pytest.raises(ValueError, match="--input .*absent.csv: no such file"):
        read_texts(str(tmp_path / "absent.csv"), "text")


def test_an_empty_text_is_refused():
    assert checked_texts(["a", " b "]) == ["a", " b "]
    with pytest.raises(ValueError, match="--text number 2 is empty \\(or only whitespace\\)"):
        checked_texts(["a", " \t"])


def test_the_command_refuses_empty_text_before_loading_a_model(tmp_path, capsys):
    # The model directory does not exist: the text is refused first.
    assert main(["predict", str(tmp_path / "nowhere"), "--text", ""]) == 2
    err = capsys.readouterr().err
    assert "hhnas predict: --text number 1 is empty" in err
    path = _csv(tmp_path, b"id,text\n1,q\n\n \n2,\n")
    assert main(["predict", str(tmp_path / "nowhere"), "--input", path]) == 2
    assert f"{path}:5: empty text in column 'text'" in capsys.readouterr().err
