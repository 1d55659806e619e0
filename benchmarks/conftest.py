import pytest

import fastinit


@pytest.fixture
def threads():
    before = fastinit.get_num_threads()
    yield
    fastinit.set_num_threads(before)
