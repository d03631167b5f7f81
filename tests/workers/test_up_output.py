"""`up` prints through workers.up.Output: a reader that has gone away must not stop it."""

from __future__ import annotations

import os

from workers.up import Output


def test_saying_into_a_pipe_whose_reader_is_gone_raises_nothing() -> None:
    # Given a stream into a pipe whose read end is closed (`up | tee log`, then Ctrl-C)
    read_end, write_end = os.pipe()
    os.close(read_end)
    with os.fdopen(write_end, "w") as stream:
        # When `up` says something there, twice
        Output().say("stopping…", stream)
        Output().say("stopped.", stream)
        # Then nothing was raised, and the stream now goes to /dev/null, so that the last
        # flush at exit cannot fail either
        assert os.readlink(f"/proc/self/fd/{stream.fileno()}") == os.devnull
        stream.write("more\n")
        stream.flush()
