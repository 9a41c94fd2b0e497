"""stdio's input through a pipe this process can end, so that Ctrl+C (SIGINT) or SIGTERM stops the server at once.

The SDK reads stdin in a worker thread, and a read from a terminal cannot be interrupted: on Ctrl+C the server
waited for the next Enter before it stopped. Here fd 0 becomes the read end of a pipe that a daemon thread fills
from the real stdin. Ending the relay makes the pipe's write end /dev/null, which the SDK's reader sees as the
end of input, as when a client closes stdin; the daemon thread, still blocked on the terminal, does not keep
the process alive. The copy costs a pipe hop per message (microseconds).
"""

from __future__ import annotations

import os
import threading


class StdinRelay:
    def __init__(self) -> None:
        self._source = os.dup(0)
        read_end, self._write_end = os.pipe()
        os.dup2(read_end, 0)
        os.close(read_end)
        self._lock = threading.Lock()  # between end() and the thread closing the write end
        self._closed = False
        threading.Thread(target=self._copy, name="stdin relay", daemon=True).start()

    def _copy(self) -> None:
        try:
            while chunk := os.read(self._source, 65536):
                while chunk:
                    chunk = chunk[os.write(self._write_end, chunk) :]
        except OSError:
            pass  # the server stopped reading (EPIPE), or stdin broke: either way, the end of input
        finally:
            with self._lock:
                os.close(self._write_end)
                self._closed = True
            os.close(self._source)

    def end(self) -> None:
        """End of input for the server, now, whatever the real stdin is doing."""
        with self._lock:
            if self._closed:
                return
            # Replaced, not closed: the thread may be writing to it, and a closed number could be reused.
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self._write_end)
            os.close(null)
