import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(autouse=True, scope="session")
def small_memory_limit():
    """Runs the fuzz suite may start are kept small whatever the machine has (sizes above it are refused)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("CLOCKSIM_MAX_MEMORY", "1G")
    yield
    mp.undo()
