import pytest

from honkdata.catalog import load_catalog
from honkdata.errors import HonkdataError


def test_text_csv_and_jsonl_catalogs(tmp_path):
    (tmp_path / "a.txt").write_text("# artists\nJohn Legend\n\nAdele\n")
    (tmp_path / "b.csv").write_text("name,type\nThriller,album\nAdele,\n")
    (tmp_path / "c.jsonl").write_text('{"name": "Hello", "type": "track"}\n{"type": "track"}\n')
    assert load_catalog(tmp_path / "a.txt") == [("artist", "John Legend"), ("artist", "Adele")]
    assert load_catalog(tmp_path / "b.csv") == [("album", "Thriller"), ("artist", "Adele")]
    assert load_catalog(tmp_path / "c.jsonl") == [("track", "Hello")]


def test_missing_or_broken_catalog_is_a_clear_error(tmp_path):
    with pytest.raises(HonkdataError, match="catalog not found"):
        load_catalog(tmp_path / "nope.txt")
    (tmp_path / "bad.jsonl").write_text("{nope\n")
    with pytest.raises(HonkdataError, match="not JSON"):
        load_catalog(tmp_path / "bad.jsonl")
