"""A batch file from Python: rfsearch.io.score_file (the API behind `rfsearch batch`)."""

import json
import tempfile
from pathlib import Path

from rfsearch.io import read_batch, score_file

here = Path(__file__).resolve().parent
with tempfile.TemporaryDirectory() as tmp:
    out = Path(tmp) / "scores.jsonl"
    count = score_file(here / "stacks.csv", out, input_size=32)  # formats from the suffixes
    rows = [json.loads(line) for line in out.read_text().splitlines()]
print(f"{count} stacks scored")
for row in rows:
    print(row["id"], "rf", row["rf"], "jump", row["jump"], "valid", row["valid"])

# The same file as LayerTable row ids, chunk by chunk (what the scorer receives):
for chunk in read_batch(here / "stacks.csv"):
    print("table rows:", [chunk.table.layer(i).spec() for i in range(len(chunk.table))])
    print("ids:", chunk.ids.tolist(), "depth:", chunk.depth.tolist())
