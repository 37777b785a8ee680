"""Secrets are masked on every way out of the process, not only in log records: uncaught
exceptions in the main thread and in other threads, errors Python can only report (a
finalizer that raises), and what asyncio reports about tasks nobody awaited."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SECRET = "123456789:AAH-a-secret-that-must-not-print"

SCRIPT = textwrap.dedent(
    f"""
    import asyncio, gc, logging, threading
    from bot.model.redact import install, install_hooks, register_secret

    logging.basicConfig(level=logging.INFO)
    register_secret({SECRET!r})
    install()
    install_hooks()

    def in_thread():
        raise RuntimeError("thread saw {SECRET}")

    t = threading.Thread(target=in_thread, name="worker")
    t.start()
    t.join()

    class Leaky:
        def __del__(self):
            raise RuntimeError("finalizer saw {SECRET}")

    Leaky()
    gc.collect()

    async def forgotten():
        raise RuntimeError("task saw {SECRET}")

    async def loop_main():
        asyncio.get_running_loop().create_task(forgotten())
        await asyncio.sleep(0.05)

    asyncio.run(loop_main())
    gc.collect()

    try:
        raise KeyError("cause saw {SECRET}")
    except KeyError as exc:
        raise RuntimeError("main saw {SECRET}") from exc
    """
)


def test_uncaught_exceptions_never_print_a_registered_secret() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    err = proc.stderr
    # every report is there, with the secret masked
    for what in ("thread saw ***", "finalizer saw ***", "task saw ***", "main saw ***"):
        assert what in err, err
    assert "cause saw ***" in err  # the chain too
    assert "Exception in thread worker" in err
    assert SECRET not in err and SECRET.split(":")[1] not in err
    assert SECRET not in proc.stdout
