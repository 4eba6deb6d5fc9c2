"""A tagger behind ``rnnkit serve``: ``POST /predict`` answers each sentence with its tokens and their tags,
concurrent requests batched into one model call."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class TagRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    texts: list[Any] = Field(description="The sentences to tag, one string each (split as the training data was).")
    top_k: int = Field(1, ge=1, le=1, description="One tag per token (the field is a classifier's).")


def answers(model: Any, texts: list[str]) -> list[dict[str, Any]]:
    """Each sentence's tokens and tags."""
    tagged = model.predict(texts)
    return [{"tokens": [t for t, _ in pairs], "tags": [tag for _, tag in pairs]} for pairs in tagged]


def mount(app: Any, service: Any) -> None:
    """``POST /predict`` on the service's app."""
    model = service.served.model
    batcher = service.batcher(lambda texts: answers(model, texts))

    @app.post("/predict")
    async def predict(request: TagRequest) -> Any:
        """Each sentence's tokens and their tags."""
        return service.json({"predictions": await batcher(service.texts(request.texts))})
