import pytest


@pytest.fixture
def anyio_backend() -> str:
    """The async tests run on asyncio, as the service does."""
    return "asyncio"
