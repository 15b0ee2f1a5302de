import stat

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from honkdata.annotate import store as store_module
from honkdata.annotate.agreement import LABELS
from honkdata.annotate.store import STORE, HumanLabelStore
from honkdata.errors import HonkdataError


def labels(*items: tuple[str, str]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "id": i,
                "text": f"text {i}",
                "intent": intent,
                "entities": [],
                "n_annotators": 2,
                "agreement": 1.0,
            }
            for i, intent in items
        ],
        schema=LABELS,
    )


def test_empty_store_has_the_schema_and_creates_nothing(tmp_path):
    store = HumanLabelStore(tmp_path / "labels")
    assert store.latest().schema == STORE and store.latest().num_rows == 0
    assert not (tmp_path / "labels").exists()


def test_latest_import_wins(tmp_path):
    store = HumanLabelStore(tmp_path / "labels")
    first = store.add(labels(("a", "like"), ("b", "dislike")), origin="round1.json")
    second = store.add(labels(("b", "like"), ("c", "recommend")), origin="round2.csv")
    assert first.name < second.name and first.name.startswith("000001-") and second.name.startswith("000002-")
    latest = store.latest()
    assert latest.schema == STORE
    got = {r["id"]: (r["intent"], r["origin"]) for r in latest.to_pylist()}
    assert got == {
        "a": ("like", "round1.json"),
        "b": ("like", "round2.csv"),
        "c": ("recommend", "round2.csv"),
    }
    assert pq.read_table(first).num_rows == 2  # earlier imports stay as they were
    assert latest.column("imported_at").type == pa.timestamp("us", tz="UTC")


def test_store_is_owner_only(tmp_path):
    folder = tmp_path / "labels"
    folder.mkdir(mode=0o755)
    path = HumanLabelStore(folder).add(labels(("a", "like")), origin="x.json")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    store = HumanLabelStore(tmp_path / "labels")
    store.add(labels(("a", "like")), origin="one.json")

    def crash(table, where):
        (tmp_path / "labels" / where).write_bytes(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(store_module.pq, "write_table", crash)
    with pytest.raises(OSError, match="disk full"):
        store.add(labels(("a", "dislike")), origin="two.json")
    assert [p.name[:7] for p in (tmp_path / "labels").iterdir()] == ["000001-"]
    assert store.latest().column("intent").to_pylist() == ["like"]


def test_nothing_to_store(tmp_path):
    with pytest.raises(HonkdataError, match=r"empty\.json: no labels to store"):
        HumanLabelStore(tmp_path / "labels").add(labels(), origin="empty.json")
