import json
import logging
import logging.config
from typing import Literal

import pytest

from conduit.log import log_config, request_id


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
    fields = ["time", "level", "logger", "request_id", "message"]
    assert [list(line) for line in lines] == [fields, fields]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_lines_name_the_request_they_were_logged_for(
    capsys: pytest.CaptureFixture[str], fmt: Literal["text", "json"]
) -> None:
    logging.config.dictConfig(log_config(level="INFO", fmt=fmt))
    token = request_id.set("req-42")
    try:
        logging.getLogger("conduit.db.slow").warning("inside")
    finally:
        request_id.reset(token)
    try:
        logging.getLogger("uvicorn.error").info("outside")
    finally:
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
    inside, outside = capsys.readouterr().err.splitlines()
    if fmt == "json":
        assert json.loads(inside)["request_id"] == "req-42"
        assert json.loads(outside)["request_id"] == "-"
    else:
        assert inside.endswith(" WARNING conduit.db.slow [req-42]: inside")
        assert outside.endswith(" INFO uvicorn.error [-]: outside")


def test_text_format_and_level_filter(capsys: pytest.CaptureFixture[str]) -> None:
    logging.config.dictConfig(log_config(level="WARNING", fmt="text"))
    try:
        logging.getLogger("conduit.test").info("quiet")
        logging.getLogger("conduit.test").error("loud")
    finally:
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
    err = capsys.readouterr().err
    assert "quiet" not in err
    assert "ERROR conduit.test [-]: loud" in err
