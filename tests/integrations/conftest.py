import pytest

from tests.integrations.receiver import start_receiver


@pytest.fixture
def receiver(settings):
    """A real HTTP receiver on 127.0.0.1; plain http to it is allowed, as in the demo."""
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = True
    receiver, server = start_receiver()
    yield receiver
    server.shutdown()
    server.server_close()
