"""The HTTP API through the real app: answers equal the model's own, every limit and bad input gets a one-line JSON
4xx, the batcher answers concurrent requests together, and model work never blocks the event loop."""

import asyncio
import json
import time

import numpy as np
import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx2")  # what starlette's TestClient runs on
from fastapi.testclient import TestClient  # noqa: E402

import rnnkit  # noqa: E402
from rnnkit.serving.app import create_app  # noqa: E402
from rnnkit.serving.batcher import Batcher  # noqa: E402
from rnnkit.serving.limits import Limits  # noqa: E402
from rnnkit.serving.model import ServedModel  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")
LIMITS = Limits(max_body_bytes=4_000, max_texts=3, max_chars=200, max_length=50)


@pytest.fixture(scope="module")
def served(trained_models):
    return {task: ServedModel.load(path) for task, path in trained_models.items()}


@pytest.fixture(scope="module")
def clients(served):
    with (
        TestClient(create_app(served["classify"], LIMITS)) as classify,
        TestClient(create_app(served["tag"], LIMITS)) as tag,
        TestClient(create_app(served["lm"], LIMITS)) as lm,
    ):
        yield {"classify": classify, "tag": tag, "lm": lm}


def one_line(response, status, *fragments):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and "\n" not in body["error"] and "Traceback" not in body["error"], body
    for fragment in fragments:
        assert fragment in body["error"], body["error"]


# ------------------------------------------------------------------------------------------- answers
def test_predict_gives_each_texts_labels_as_the_model_does(clients, trained_models):
    texts = ["what is the capital of france ?", "who wrote hamlet ?"]
    response = clients["classify"].post("/predict", json={"texts": texts, "top_k": 2})
    assert response.status_code == 200
    predictions = response.json()["predictions"]
    expected = rnnkit.load(trained_models["classify"]).predict_proba(texts)
    labels = rnnkit.load(trained_models["classify"]).labels
    for prediction, p in zip(predictions, expected, strict=True):
        order = np.argsort(-p)[:2]
        assert prediction["labels"] == [labels[k] for k in order] and prediction["label"] == labels[order[0]]
        np.testing.assert_allclose(prediction["probabilities"], p[order], atol=1e-6)
    single = clients["classify"].post("/predict", json={"texts": texts[:1]}).json()["predictions"][0]
    assert len(single["labels"]) == 1  # top_k is 1 by default


def test_predict_says_how_many_tokens_of_a_long_text_were_not_read(served):
    """A classifier reads a text's first ``max_length`` tokens (400 by default); the answer for a longer text says
    how many tokens it did not read, as ``rnnkit predict --format json`` does."""
    assert served["classify"].model.max_length == 400
    texts = ["who wrote hamlet ?", "who wrote hamlet " * 150]  # 450 tokens, within the default limits
    with TestClient(create_app(served["classify"])) as client:
        predictions = client.post("/predict", json={"texts": texts, "top_k": 2}).json()["predictions"]
    assert "truncated" not in predictions[0] and predictions[1]["truncated"] == 50
    assert len(predictions[1]["labels"]) == 2


def test_predict_gives_a_taggers_tokens_and_tags(clients, trained_models):
    texts = ["I saw her duck.", "Time flies"]
    predictions = clients["tag"].post("/predict", json={"texts": texts}).json()["predictions"]
    expected = rnnkit.load(trained_models["tag"]).predict(texts)
    assert [list(zip(p["tokens"], p["tags"], strict=True)) for p in predictions] == expected


def test_generate_streams_what_the_model_writes(clients, trained_models):
    body = {"prompt": "ROMEO:", "length": 40, "temperature": 0.8, "seed": 3}
    with clients["lm"].stream("POST", "/generate", json=body) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
        pieces = list(response.iter_text())
    expected = rnnkit.load(trained_models["lm"]).generate("ROMEO:", length=40, temperature=0.8, seed=3)
    assert "ROMEO:" + "".join(pieces) == expected


def test_health_model_and_page(clients):
    health = clients["classify"].get("/health").json()
    assert health["status"] == "ok" and health["batching"]["max_batch"] == 256
    model = clients["tag"].get("/model").json()
    assert model["task"] == "tag" and model["labels"] and model["endpoints"] == ["/predict"]
    assert model["config"]["hidden_size"] == 8 and model["limits"]["max_texts"] == 3 and model["rnnkit"]
    assert "valid" in model["training"]
    page = clients["lm"].get("/")
    assert page.status_code == 200 and 'name="viewport"' in page.text
    assert "http://" not in page.text and "https://" not in page.text  # self-contained: no request to another host
    docs = clients["classify"].get("/docs")  # the API's page works offline: its script comes from the package
    assert docs.status_code == 200 and "cdn." not in docs.text and "https://" not in docs.text
    script = next(part.split('"')[0] for part in docs.text.split('src="')[1:] if "swagger-ui-bundle" in part)
    assert clients["classify"].get(script).status_code == 200
    assert clients["classify"].get("/openapi.json").json()["paths"]["/predict"]


def test_inspect_answers_the_page_of_rnnkit_inspect(clients):
    response = clients["classify"].post("/inspect", json={"text": "who wrote hamlet ?"})
    assert response.status_code == 200 and response.text.startswith("<!DOCTYPE html>")
    assert "hamlet" in response.text and "https://" not in response.text


def test_inspect_of_an_exported_file_says_it_is_unavailable(trained_models, tmp_path):
    from rnnkit.export import export_onnx

    exported = tmp_path / "m.onnx"
    export_onnx(trained_models["classify"], exported)
    with TestClient(create_app(ServedModel.load(exported))) as client:
        one_line(client.post("/inspect", json={"text": "who ?"}), 501, "needs the model directory")
        assert client.post("/predict", json={"texts": ["who ?"]}).status_code == 200


# ------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"texts": ["a", "b", "c", "d"]}, 422, "4 texts in one request; at most 3"),
        ({"texts": ["x" * 201]}, 422, "texts[0] has 201 characters; at most 200"),
        ({"texts": []}, 422, "texts is empty"),
        ({"texts": ["fine", 7]}, 422, "texts[1] must be a string"),
        ({"texts": ["  "]}, 422, "texts[0] is empty"),
        ({"texts": "one text"}, 422, "texts"),
        ({"text": ["a"]}, 422, "is not a field"),
        ({}, 422, "texts is missing"),
        ({"texts": ["a"], "top_k": 0}, 422, "top_k"),
        ({"texts": ["a"], "top_k": 99}, 422, "top_k must be at most 6"),
        ({"texts": ["a"], "top_k": "two"}, 422, "top_k"),
        ([1, 2], 422, "JSON object"),
    ],
)
def test_bad_predict_requests_get_one_line(clients, body, status, fragment):
    one_line(clients["classify"].post("/predict", json=body), status, fragment)


def test_malformed_json_and_wrong_methods_and_paths(clients):
    one_line(clients["classify"].post("/predict", content=b'{"texts": ["a"'), 400, "not valid JSON")
    one_line(clients["classify"].post("/predict", content=b"texts=a"), 400, "not valid JSON")  # curl -d, form-style
    one_line(clients["classify"].get("/predict"), 405, "GET is not allowed")
    one_line(clients["classify"].get("/nowhere"), 404, "no such endpoint", "POST /predict")
    one_line(clients["classify"].post("/generate", json={}), 404, "a text classifier", "POST /predict")
    one_line(clients["lm"].post("/predict", json={"texts": ["a"]}), 404, "a language model", "POST /generate")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"length": 51}, "length must be at most 50"),
        ({"length": 0}, "length"),
        ({"temperature": 0}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"prompt": "\u2603 snow"}, "never saw"),
        ({"prompt": "x" * 201}, "at most 200"),
    ],
)
def test_bad_generate_requests_get_one_line(clients, body, fragment):
    one_line(clients["lm"].post("/generate", json=body), 422, fragment)


def test_an_infinite_temperature_is_refused(clients):
    body = b'{"prompt": "A", "temperature": Infinity}'  # Python's JSON reads it; sampling cannot use it
    one_line(clients["lm"].post("/generate", content=body), 422, "temperature must be a finite number")


def test_a_body_over_the_limit_gets_413_whether_declared_or_streamed(clients):
    big = json.dumps({"texts": ["word " * 900]}).encode()
    one_line(clients["classify"].post("/predict", content=big), 413, "over 4000 bytes")

    def chunks():  # no Content-Length: the body is counted as it arrives
        for _ in range(20):
            yield b" " * 1000

    one_line(clients["classify"].post("/predict", content=chunks()), 413, "over 4000 bytes")
    assert clients["classify"].get("/health").status_code == 200  # and the service goes on


# ------------------------------------------------------------------------------------------- batching
def test_concurrent_requests_share_model_calls_and_each_gets_its_own_answer():
    calls = []

    def run(items):
        calls.append(list(items))
        time.sleep(0.05)
        return [item * 10 for item in items]

    async def main():
        batcher = Batcher(run, max_batch=8)
        first = asyncio.ensure_future(batcher([1]))  # a lone request starts at once
        await asyncio.sleep(0.01)
        rest = [asyncio.ensure_future(batcher([k, k + 100])) for k in range(2, 7)]  # queued while the model works
        results = await asyncio.gather(first, *rest)
        return batcher, results

    batcher, results = asyncio.run(main())
    assert results == [[10]] + [[k * 10, (k + 100) * 10] for k in range(2, 7)]
    assert calls[0] == [1]
    assert [len(c) for c in calls[1:]] == [8, 2]  # what was queued, in batches of at most 8 texts
    assert batcher.stats.to_dict() == {"calls": 3, "requests": 6, "texts": 11, "mean_batch": round(11 / 3, 3)}


def test_a_large_request_is_cut_into_calls_and_max_batch_1_turns_batching_off():
    sizes = []

    def run(items):
        sizes.append(len(items))
        return items

    assert asyncio.run(Batcher(run, max_batch=4)(list(range(10)))) == list(range(10))
    assert sizes == [4, 4, 2]
    sizes.clear()
    assert asyncio.run(Batcher(run, max_batch=1)(["a", "b", "c"])) == ["a", "b", "c"] and sizes == [1, 1, 1]


def test_a_failing_model_call_fails_its_requests_only():
    def run(items):
        if "bad" in items:
            raise ValueError("cannot")
        return items

    async def main():
        batcher = Batcher(run)
        bad = await asyncio.gather(batcher(["bad"]), return_exceptions=True)
        good = await batcher(["good"])
        return bad, good

    bad, good = asyncio.run(main())
    assert isinstance(bad[0], ValueError) and good == ["good"]


def test_model_work_never_blocks_the_event_loop(served):
    slow = served["classify"]
    original = slow.model.predict_proba_truncated

    def slow_predict(texts, **kwargs):
        time.sleep(0.6)
        return original(texts, **kwargs)

    slow.model.predict_proba_truncated = slow_predict
    try:
        app = create_app(slow)

        async def main():
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
                started = time.perf_counter()
                prediction = asyncio.ensure_future(client.post("/predict", json={"texts": ["who ?"]}))
                await asyncio.sleep(0.05)
                health = await client.get("/health")
                answered = time.perf_counter() - started
                await prediction
                return health, answered, prediction.result(), time.perf_counter() - started

        health, health_time, prediction, total = asyncio.run(main())
    finally:
        slow.model.predict_proba_truncated = original
    assert health.status_code == 200 and prediction.status_code == 200
    assert health_time < 0.4 < total  # /health answered while the model was still working


def test_the_service_of_a_model_directory_runs_without_torch(trained_models):
    pytest.importorskip("onnxruntime")
    import subprocess
    import sys

    code = (
        "import sys; from rnnkit.serving.model import ServedModel; from rnnkit.serving.app import create_app; "
        f"create_app(ServedModel.load({str(trained_models['classify'])!r})); "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
