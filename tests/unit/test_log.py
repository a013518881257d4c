import json
import logging
import logging.config

import pytest

from conduit.log import log_config


def test_json_format_writes_one_parseable_object_per_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logging.config.dictConfig(log_config(level="INFO", fmt="json"))
    try:
        logging.getLogger("conduit.test").warning("hello %s", "world")
        logging.getLogger("uvicorn.access").info("GET /health 200")
    finally:
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(line["logger"], line["level"], line["message"]) for line in lines] == [
        ("conduit.test", "WARNING", "hello world"),
        ("uvicorn.access", "INFO", "GET /health 200"),
    ]


def test_text_format_and_level_filter(capsys: pytest.CaptureFixture[str]) -> None:
    logging.config.dictConfig(log_config(level="WARNING", fmt="text"))
    try:
        logging.getLogger("conduit.test").info("quiet")
        logging.getLogger("conduit.test").error("loud")
    finally:
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
    err = capsys.readouterr().err
    assert "quiet" not in err
    assert "ERROR conduit.test: loud" in err
