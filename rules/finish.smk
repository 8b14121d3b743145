import threading


# What the workflow does when it ends, whatever the outcome.
def cancel_scheduler_timers():
    """At the workflow's end, cancel the re-evaluation timers Snakemake's scheduler left armed
    (profiles/default/config.yaml says why): Python would otherwise wait for the last of them,
    up to a timespan, before exiting."""
    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer):
            thread.cancel()


onsuccess:
    cancel_scheduler_timers()


onerror:
    cancel_scheduler_timers()
