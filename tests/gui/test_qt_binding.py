"""Guards against a Qt binding that cannot survive a long session."""

import subprocess
import sys

EMIT_MANY = """
from PySide6.QtCore import QCoreApplication, QObject, Signal

class Holder(QObject):
    progress = Signal(object)

app = QCoreApplication([])
holder, seen = Holder(), []
holder.progress.connect(seen.append)
for i in range(20_000):  # a long run emits about ten progress signals a second
    holder.progress.emit(i)
print(len(seen))
"""


def test_many_signal_emits_do_not_corrupt_the_interpreter():
    # PySide6 6.12.0 loses a reference to True per emit and aborts the process.
    result = subprocess.run([sys.executable, "-c", EMIT_MANY], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr[-500:]
    assert result.stdout.strip() == "20000"
