"""The page at ``/`` in a real browser: headless Chromium (Debian's ``chromium`` and ``chromium-driver``, which
``.ci/run`` installs), driven by Selenium, at a phone's width. A person types a sentence and reads the label; a
tagger's tags; a language model's text as it streams; the token-by-token view; the token a service asks for, given
once and kept for the tab. Screenshots are kept in ``test-artifacts/``. Without Chromium the tests skip and say how
to install it."""

import shutil
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx2")
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as shown  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from rnnkit.serving.app import create_app  # noqa: E402
from rnnkit.serving.gate import Gate, GateSettings  # noqa: E402
from rnnkit.serving.model import ServedModel  # noqa: E402
from rnnkit.serving.server import GracefulServer  # noqa: E402

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
BROWSER = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
DRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.usefixtures("one_thread"),
    pytest.mark.skipif(
        not (BROWSER and DRIVER),
        reason="no Chromium and chromedriver here: apt-get install chromium chromium-driver (as .ci/run does)",
    ),
]


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = BROWSER
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_experimental_option(
        "mobileEmulation", {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2}}
    )
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


class LiveServer:
    """The app on a loopback port, in a thread of this process (behind a gate of ``settings``, if given)."""

    def __init__(self, model: Path, settings: GateSettings | None = None) -> None:
        import uvicorn

        served = ServedModel.load(model)
        app = create_app(served, gate=Gate(settings, served) if settings else None)
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        self.server = GracefulServer(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        started = time.monotonic()
        while not self.server.started:
            assert time.monotonic() - started < 60, "the server did not start"
            time.sleep(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def screenshot(driver, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / name))
    assert (ARTIFACTS / name).stat().st_size > 1000


def wait(driver, seconds: float = 30) -> WebDriverWait:
    return WebDriverWait(driver, seconds)


def test_a_person_types_a_sentence_and_reads_the_label(browser, trained_models):
    sentence = "who wrote the novel hamlet ?"
    with LiveServer(trained_models["classify"]) as base:
        expected = httpx.post(f"{base}/predict", json={"texts": [sentence]}).json()["predictions"][0]["label"]
        browser.get(base + "/")
        box = wait(browser).until(shown.visibility_of_element_located((By.ID, "text")))
        box.send_keys(sentence)
        browser.find_element(By.ID, "run").click()
        label = wait(browser).until(shown.visibility_of_element_located((By.ID, "label")))
        assert label.text == expected
        bars = browser.find_elements(By.CSS_SELECTOR, "#result .bar")
        assert len(bars) == 6  # every class, the likeliest first
        width = browser.execute_script("return [window.innerWidth, document.documentElement.scrollWidth]")
        assert width[0] == 390 and width[1] <= 390  # a phone's width, and nothing scrolls sideways
        screenshot(browser, "serve-classifier.png")
        browser.find_element(By.ID, "inspect").click()
        frame = wait(browser, 60).until(shown.visibility_of_element_located((By.ID, "inspection")))
        assert "hamlet" in frame.get_attribute("srcdoc")
        screenshot(browser, "serve-inspect.png")


def test_a_tagger_shows_each_tokens_tag(browser, trained_models):
    with LiveServer(trained_models["tag"]) as base:
        browser.get(base + "/")
        wait(browser).until(shown.visibility_of_element_located((By.ID, "text"))).send_keys("I saw her duck.")
        browser.find_element(By.ID, "run").click()
        wait(browser).until(shown.visibility_of_element_located((By.ID, "tags")))
        words = [w.text for w in browser.find_elements(By.CSS_SELECTOR, "#tags .word")]
        tags = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "#tags .tag")]
        expected = httpx.post(f"{base}/predict", json={"texts": ["I saw her duck."]}).json()["predictions"][0]
        assert words == expected["tokens"] and tags == expected["tags"]
        screenshot(browser, "serve-tagger.png")


def test_a_language_models_text_appears_as_it_streams(browser, trained_models):
    with LiveServer(trained_models["lm"]) as base:
        browser.get(base + "/")
        prompt = wait(browser).until(shown.visibility_of_element_located((By.ID, "prompt")))
        prompt.send_keys("ROMEO:")
        length = browser.find_element(By.ID, "length")
        length.clear()
        length.send_keys("300")
        seed = browser.find_element(By.ID, "seed")
        seed.send_keys("2")
        browser.find_element(By.ID, "write").click()
        wait(browser).until(lambda d: len(d.find_element(By.ID, "generated").text) >= len("ROMEO:") + 250)
        wait(browser).until(lambda d: d.find_element(By.ID, "write").is_enabled())
        expected = httpx.post(
            f"{base}/generate", json={"prompt": "ROMEO:", "length": 300, "seed": 2, "temperature": 0.8}
        )
        # the page shows what the API writes (whitespace as the browser renders it)
        assert browser.find_element(By.ID, "generated").text.split() == ("ROMEO:" + expected.text).split()
        screenshot(browser, "serve-language-model.png")


def test_a_person_gives_the_token_once_and_the_tab_keeps_it(browser, trained_models, tmp_path):
    token = "a-token-for-the-page-test"
    (tmp_path / "tokens").write_text(token + "\n")
    with LiveServer(trained_models["classify"], GateSettings(token_file=str(tmp_path / "tokens"))) as base:
        browser.get(base + "/")
        box = wait(browser).until(shown.visibility_of_element_located((By.ID, "token")))
        assert not browser.find_element(By.ID, "predict-form").is_displayed()
        assert browser.find_element(By.ID, "error").text == ""  # asked, not scolded: no token was given yet
        screenshot(browser, "serve-token.png")
        box.send_keys("not-the-token-at-all-0000")
        browser.find_element(By.ID, "token-save").click()
        wait(browser).until(lambda d: "not valid" in d.find_element(By.ID, "error").text)
        assert browser.find_element(By.ID, "token").is_displayed()  # asked again
        browser.find_element(By.ID, "token").send_keys(token)
        browser.find_element(By.ID, "token-save").click()
        wait(browser).until(shown.visibility_of_element_located((By.ID, "text"))).send_keys("who wrote hamlet ?")
        browser.find_element(By.ID, "run").click()
        label = wait(browser).until(shown.visibility_of_element_located((By.ID, "label")))
        headers = {"Authorization": f"Bearer {token}"}
        expected = httpx.post(f"{base}/predict", json={"texts": ["who wrote hamlet ?"]}, headers=headers)
        assert label.text == expected.json()["predictions"][0]["label"]
        # Kept for the tab: a reload asks nothing. In sessionStorage, which ends with the tab, not localStorage.
        browser.refresh()
        wait(browser).until(shown.visibility_of_element_located((By.ID, "text")))
        assert not browser.find_element(By.ID, "token-form").is_displayed()
        assert browser.execute_script("return sessionStorage.getItem('rnnkit-token')") == token
        assert browser.execute_script("return window.localStorage.length") == 0
