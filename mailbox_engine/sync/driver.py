"""Drive many sync runs at once: each run's network part in a worker thread, each of
its requests answered in the calling thread (where the database is).

A run is a generator (:func:`.run.sync_mailbox`); ``handle(key, request)`` answers a
request (the set of known keys for a ``Lookup``, ``None`` for the rest); if it raises,
that run stops (its connection closed) and ``failed`` is told, as for a run's own
error. Each run is stepped by one thread at a time, so one IMAP
connection is never used by two threads."""

from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

_DONE = object()


def _step(generator, answer):
    try:
        return generator.send(answer)
    except StopIteration:
        return _DONE


WORKERS = 64  # runs on the network at once: they mostly wait for the server, not the CPU


def drive(runs, handle, workers=WORKERS, failed=None):
    """Run ``runs`` (``{key: generator}``) to the end, at most ``workers`` on the network
    at once. An exception of a run stops that run only: ``failed(key, exc)`` is told."""
    if workers <= 1 or len(runs) <= 1:
        for key, generator in runs.items():
            _drive_one(key, generator, handle, failed)
        return
    with ThreadPoolExecutor(max_workers=min(workers, len(runs))) as pool:
        pending = {pool.submit(_step, generator, None): (key, generator) for key, generator in runs.items()}
        try:
            while pending:
                done, _not_done = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    key, generator = pending.pop(future)
                    try:
                        request = future.result()
                    except Exception as exc:  # the run reports it; the others go on
                        _failed(failed, key, exc)
                        continue
                    if request is _DONE:
                        continue
                    try:
                        answer = handle(key, request)
                    except Exception as exc:  # that run stops (its connection closed); the others go on
                        generator.close()
                        _failed(failed, key, exc)
                        continue
                    pending[pool.submit(_step, generator, answer)] = (key, generator)
        finally:  # stopped by handle(): let the runs close their connections
            for future in pending:
                future.cancel()
            wait(pending)
            for _key, generator in pending.values():
                generator.close()


def _drive_one(key, generator, handle, failed):
    answer = None
    while True:
        try:
            request = generator.send(answer)
        except StopIteration:
            return
        except Exception as exc:
            _failed(failed, key, exc)
            return
        try:
            answer = handle(key, request)
        except Exception as exc:
            generator.close()
            _failed(failed, key, exc)
            return


def _failed(failed, key, exc):
    if failed is None:
        raise exc
    failed(key, exc)
