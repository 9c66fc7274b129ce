#!/usr/bin/env python3
"""Dev check (not in CI): Python's mailbox module reads smtpcap's mboxrd back.

Extracts scenario 04 (four transactions, three delivered) with `smtpcap extract --mbox`, opens
the mbox with mailbox.mbox and compares each message with the bytes the client sent
(fixtures/truth/04-multi-message-session/sent*.eml). Run from the repository: python3 scripts/check-mbox.py
"""
import mailbox
import pathlib
import subprocess
import sys
import tempfile

root = pathlib.Path(__file__).resolve().parent.parent
truth = root / "fixtures/truth/04-multi-message-session"
expected = [truth / name for name in ("sent.eml", "sent-2.eml", "sent-3.eml")]

with tempfile.TemporaryDirectory() as tmp:
    out = pathlib.Path(tmp) / "out"
    mbox_path = pathlib.Path(tmp) / "scenario-04.mbox"
    subprocess.run(
        ["node", "--import", "tsx", str(root / "src/cli.ts"), "extract",
         str(root / "fixtures/real/04-multi-message-session.pcap"), "-o", str(out), "--mbox", str(mbox_path)],
        check=True, cwd=root,
    )
    box = mailbox.mbox(str(mbox_path), create=False)
    keys = list(box.keys())
    failures = 0
    if len(keys) != len(expected):
        print(f"FAIL: {len(keys)} messages, expected {len(expected)}")
        failures += 1
    for key, sent in zip(keys, expected):
        message = box.get_message(key)
        got = box.get_bytes(key)
        want = sent.read_bytes()
        # mboxrd ends every message with a newline of its own before the next From line.
        ok = got.rstrip(b"\n") == want.rstrip(b"\n")
        print(f"{'ok  ' if ok else 'FAIL'} {message.get_from()!r:60} {message['Subject']!r} ({len(got)} bytes)")
        failures += 0 if ok else 1
    sys.exit(1 if failures else 0)
