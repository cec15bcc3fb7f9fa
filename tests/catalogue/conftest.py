import pytest

from shipex_privacy.catalogue.masking import forget_rules


@pytest.fixture(autouse=True)
def _masking_rule_read_afresh_after_each_test():
    """A test here may change how a value is masked; its rollback does not reach the rule already read
    in this thread (kept up to a minute outside requests), so the next test must read it again."""
    yield
    forget_rules()
