"""What many tests share: the mock Slack (`slack_mock`), the fake OneBot
implementation (`fake_onebot`), a throwaway PostgreSQL server (`pg_server`),
hand-written packs (`packs`, `rawpack`), and where the repository and the test
data are (`REPO`, `TESTS`), so a test's folder depth does not matter."""
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
REPO = TESTS.parent
