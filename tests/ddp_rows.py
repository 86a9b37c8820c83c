"""Run under torchrun by tests/test_train.py: every ablation row trains 2 steps on 2 gloo processes
in one process group, and the processes end with identical parameters (no unused parameters)."""

import json
import sys

import torch.distributed as dist

from hcl.ablation import ABLATION_ROWS, ablation_config
from hcl.train import train

data, out = sys.argv[1], sys.argv[2]
dist.init_process_group("gloo")
results = {}
for row in ABLATION_ROWS:
    config = ablation_config(row, 0, data, steps=2, image_size=32, batch_size=2, workers=0)
    config = config.replace(out=f"{out}/{row}", k=8, val_images=2)
    summary = train(config, progress=False)
    results[row] = summary["ranks_in_sync"]
if dist.get_rank() == 0:
    print(json.dumps(results))
dist.destroy_process_group()
