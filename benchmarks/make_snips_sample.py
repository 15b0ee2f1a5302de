"""Write data/samples/snips/: the Snips 2017 sample that `make demo` trains on (CC0 1.0).

Every `validate_<Intent>.json` file whole (100 utterances each) and the first N utterances of each
`train_<Intent>.json` (the full files are 4.6 MB; the demo needs a few hundred per intent). Text is
written as UTF-8 (train_PlayMusic.json holds cp1252 bytes, repaired the way the build reads them).

    python benchmarks/make_snips_sample.py ../shared/data/public/snips-2017 data/samples/snips --train 300
"""

import argparse
from pathlib import Path

import orjson

from honkdata.ingest.text import decode_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder of the Snips 2017 intent files")
    parser.add_argument("out", type=Path)
    parser.add_argument("--train", type=int, default=300, help="utterances kept per train file")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for path in sorted(args.source.glob("*.json")):
        text, _, _ = decode_text(path.read_bytes())
        doc = orjson.loads(text)
        if path.name.startswith("train_"):
            doc = {intent: utterances[: args.train] for intent, utterances in doc.items()}
        (args.out / path.name).write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")


if __name__ == "__main__":
    main()
