"""``python -m hcl`` / ``hcl``: data make-mini | check | resize, train, evaluate, harmonize.

Bad input prints one line naming the file and the fix, and exits with code 1 (no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hcl.errors import UserInputError


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _data_make_mini(args) -> int:
    from hcl.data.mini import make_mini

    summary = make_mini(args.out, train=args.train, test=args.test, seed=args.seed, size=args.size,
                        photos_dir=args.photos, force=args.force)
    train, test = summary["counts"]["train"], summary["counts"]["test"]
    per_subset = ", ".join(f"{s} {train[s]}/{test[s]}" for s in train)
    print(f"mini-iHarmony4 written to {args.out}: {sum(train.values())} train, {sum(test.values())} test "
          f"triples ({per_subset}, train/test)")
    return 0


def _data_check(args) -> int:
    from hcl.data.check import check_tree, format_counts, format_faults

    counts, faults = check_tree(args.root)
    print(format_counts(counts))
    if faults:
        for line in format_faults(faults):
            print(f"hcl: error: {line}", file=sys.stderr)
        return 1
    print(f"{args.root}: OK")
    return 0


def _data_resize(args) -> int:
    from hcl.data.resize import resize_tree

    written = resize_tree(args.root, args.out, args.max_side, force=args.force)
    print(f"{written} images written to {args.out} (longest side ≤ {args.max_side})")
    return 0


def _train(args) -> int:
    from hcl.train import preset, train

    changes = {"data": args.data, "out": args.out, "seed": args.seed, "device": args.device}
    for name in ("steps", "batch_size", "image_size", "lr", "workers", "val_every", "save_every", "colour_jitter"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    overrides = {}
    if args.fusion is not None:
        overrides["fusion"] = args.fusion
    if args.no_s2am:
        overrides["s2am"] = False
    if overrides:
        changes["model_overrides"] = overrides
    if args.loss_weights is not None:
        changes["loss_weights"] = tuple(args.loss_weights)
    summary = train(preset(args.config, **changes), resume=args.resume)
    if summary.get("world_size", 1) <= 1 or summary.get("ranks_in_sync") is not None:
        print(json.dumps(summary))
    return 0


def _evaluate(args) -> int:
    import torch

    from hcl.checkpoint import model_from_checkpoint
    from hcl.data import IHarmony4
    from hcl.evaluate import evaluate, network_size, summarize, summarize_by_ratio, table, write_json
    from hcl.train import resolve_device

    device = resolve_device(args.device)
    dataset = IHarmony4(args.data, args.split, subsets=args.subsets, image_size=args.image_size)
    net, state = model_from_checkpoint(args.checkpoint, device)
    with torch.no_grad():
        records = evaluate(dataset, net, network_size(state), device, args.batch_size, args.convention)
    summary = summarize(records)
    which = "the shipped demo checkpoint" if args.checkpoint is None else args.checkpoint
    print(f"{len(records)} {args.split} images at {args.image_size} px, model: {which}, "
          f"PSNR convention: {args.convention}")
    print(table(summary, "II"))
    print()
    print(table(summary, "III"))
    print()
    print("by foreground ratio (MSE / fMSE):")
    for method, buckets in summarize_by_ratio(records).items():
        print(f"  {method}: " + ", ".join(f"{b} {v['mse']:.2f} / {v['fmse']:.2f} (n={v['count']})" for b, v in buckets.items()))
    if args.json:
        write_json(summary, args.json)
        print(f"wrote {args.json}")
    if args.tables:
        folder = Path(args.tables)
        folder.mkdir(parents=True, exist_ok=True)
        for which in ("II", "III"):
            (folder / f"table_{which}.md").write_text(table(summary, which) + "\n")
            (folder / f"table_{which}.csv").write_text(table(summary, which, fmt="csv"))
        print(f"wrote Tables II and III (markdown and CSV) to {folder}")
    return 0


def _harmonize(args) -> int:
    from hcl.harmonize import harmonize_file
    from hcl.train import resolve_device

    out = harmonize_file(args.composite, args.mask, args.out, args.checkpoint, resolve_device(args.device), args.force)
    print(f"wrote {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hcl", description="Image harmonization with region-wise contrastive learning.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = commands.add_parser("data", help="build, check or resize iHarmony4-style data")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="DATA_COMMAND")
    mini = data_commands.add_parser("make-mini", help="build a mini-iHarmony4 offline from bundled photos")
    mini.add_argument("out", metavar="OUT", help="folder to create (must be empty or absent)")
    mini.add_argument("--train", type=_positive_int, default=400, help="training triples (default 400)")
    mini.add_argument("--test", type=_positive_int, default=100, help="test triples (default 100)")
    mini.add_argument("--seed", type=int, default=0, help="same seed → byte-identical files (default 0)")
    mini.add_argument("--size", type=_positive_int, default=256, help="image side in pixels (default 256)")
    mini.add_argument("--photos", metavar="DIR", help="use your own photos instead of the bundled ones")
    mini.add_argument("--force", action="store_true", help="replace an existing mini-iHarmony4 in OUT")
    mini.set_defaults(handler=_data_make_mini)

    check = data_commands.add_parser("check", help="validate an iHarmony4 tree and count its triples")
    check.add_argument("root", metavar="ROOT")
    check.set_defaults(handler=_data_check)

    resize = data_commands.add_parser("resize", help="write a copy of a tree with smaller images")
    resize.add_argument("root", metavar="ROOT")
    resize.add_argument("out", metavar="OUT")
    resize.add_argument("--max-side", type=_positive_int, default=1024, help="longest side in pixels (default 1024)")
    resize.add_argument("--force", action="store_true", help="write into a non-empty OUT")
    resize.set_defaults(handler=_data_resize)

    train = commands.add_parser("train", help="train a model (torchrun for several processes)")
    train.add_argument("--config", choices=["tiny", "paper"], default="tiny", help="model and defaults (default tiny)")
    train.add_argument("--data", required=True, metavar="ROOT", help="iHarmony4 root")
    train.add_argument("--out", required=True, metavar="OUT", help="run folder (checkpoints, log.csv)")
    train.add_argument("--steps", type=_positive_int, help="optimizer steps (tiny 1000, paper 500000)")
    train.add_argument("--batch-size", type=_positive_int, help="images per step and process (default 8)")
    train.add_argument("--image-size", type=_positive_int, help="training crop size (default 256)")
    train.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--resume", action="store_true", help="continue from OUT/checkpoints/last.pt")
    train.add_argument("--lr", type=float, help="AdamW learning rate (default 1e-3)")
    train.add_argument("--workers", type=int, help="data loader workers (default 2)")
    train.add_argument("--val-every", type=_positive_int, help="validate every N steps")
    train.add_argument("--save-every", type=_positive_int, help="checkpoint every N steps")
    train.add_argument("--fusion", choices=["none", "adain", "rain", "external"], help="style fusion variant")
    train.add_argument("--no-s2am", action="store_true", help="remove the S2AM attention")
    train.add_argument("--loss-weights", type=float, nargs=3, metavar=("L1", "PIXEL", "HCL"),
                       help="λ1 λ2 λ3 of Eq. (13) (default 0.4 0.5 0.1)")
    train.add_argument("--colour-jitter", type=float, metavar="J",
                       help="not in the paper: one global colour change within ±J applied to composite and real "
                            "alike (default 0: off)")
    train.set_defaults(handler=_train)

    evaluate = commands.add_parser("evaluate", help="Tables II/III metrics of a checkpoint")
    evaluate.add_argument("--checkpoint", help="checkpoint (default: the shipped demo checkpoint)")
    evaluate.add_argument("--data", required=True, metavar="ROOT")
    evaluate.add_argument("--split", default="test", choices=["train", "test"])
    evaluate.add_argument("--subsets", nargs="+", choices=["HCOCO", "HAdobe5k", "HFlickr", "Hday2night"])
    evaluate.add_argument("--image-size", type=_positive_int, default=256,
                          help="evaluation resolution; the net runs at its own and its change is upsampled (Table IV)")
    evaluate.add_argument("--json", metavar="OUT.json", help="write the summary as JSON")
    evaluate.add_argument("--tables", metavar="DIR", help="write Tables II and III as markdown and CSV into DIR")
    evaluate.add_argument("--convention", default="default", choices=["default", "issam", "dovenet"],
                          help="PSNR convention (default: 255² peak)")
    evaluate.add_argument("--batch-size", type=_positive_int, default=8)
    evaluate.add_argument("--device", default="auto")
    evaluate.set_defaults(handler=_evaluate)

    harmonize = commands.add_parser("harmonize", help="harmonize your own composite, any resolution")
    harmonize.add_argument("--checkpoint", help="checkpoint (default: the shipped demo checkpoint)")
    harmonize.add_argument("--composite", required=True, metavar="IMG")
    harmonize.add_argument("--mask", required=True, metavar="MASK", help="white = foreground, same size as IMG")
    harmonize.add_argument("--out", required=True, metavar="OUT", help="output .png or .jpg (never overwritten without --force)")
    harmonize.add_argument("--device", default="auto")
    harmonize.add_argument("--force", action="store_true", help="replace OUT if it exists")
    harmonize.set_defaults(handler=_harmonize)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from hcl.train import TrainingDiverged

    try:
        return args.handler(args)
    except (UserInputError, TrainingDiverged) as error:
        print(f"hcl: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("hcl: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
