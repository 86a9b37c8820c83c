"""``python -m hcl`` / ``hcl``: data make-mini | from-coco | check | resize, train, ablate, evaluate, harmonize.

Bad input prints one line naming the file and the fix, and exits with code 1 (no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hcl.errors import TrainingDiverged, UserInputError


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _data_make_mini(args) -> int:
    from hcl.data.mini import make_mini

    summary = make_mini(args.out, train=args.train, test=args.test, seed=args.seed, size=args.size,
                        photos_dir=args.photos, force=args.force, holdout=args.holdout,
                        annotations=args.annotations, masks_from=args.masks, generated_train=args.generated_train,
                        extra=args.extra_photos, extra_outlines=args.extra_outlines,
                        extra_annotations=args.extra_annotations)
    train, test = summary["counts"]["train"], summary["counts"]["test"]
    per_subset = ", ".join(f"{s} {train[s]}/{test[s]}" for s in train)
    print(f"mini-iHarmony4 written to {args.out}: {sum(train.values())} train, {sum(test.values())} test "
          f"triples ({per_subset}, train/test)")
    return 0


def _data_from_coco(args) -> int:
    from hcl.data.from_coco import from_coco

    summary = from_coco(args.images, args.annotations, args.out, per_instance=args.per_instance,
                        test_share=args.test_share, seed=args.seed, min_area=args.min_area, max_area=args.max_area,
                        force=args.force)
    made, used = summary["composites"], summary["images_used"]
    print(f"HCOCO-style set written to {args.out}: {made['train']} train, {made['test']} test composites from "
          f"{used['train']}/{used['test']} images ({summary['dropped_by_filter']} dropped by the change filter)")
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
    from hcl.config import flat_fields, preset
    from hcl.train import train

    changes = {name: getattr(args, name) for name in flat_fields() if getattr(args, name, None) is not None}
    if args.no_s2am:
        changes["s2am"] = "none"
    summary = train(preset(args.config, **changes), resume=args.resume)
    if summary.get("world_size", 1) <= 1 or summary.get("ranks_in_sync") is not None:
        print(json.dumps(summary))
    return 0


def _ablate(args) -> int:
    from hcl.ablation import ABLATION_ROWS, ablate, row_description

    if args.list:
        for name, (_, changes) in ABLATION_ROWS.items():
            print(f"{name}  {row_description(name, args.base)}  {changes}")
        return 0
    if not args.data or not args.out:
        raise UserInputError("hcl ablate needs --data ROOT and --out DIR (or --list)")
    rows = [r.strip() for r in args.rows.split(",") if r.strip()] if args.rows else None
    ablate(args.data, args.out, rows, seeds=args.seeds, steps=args.steps, image_size=args.image_size,
           batch_size=args.batch_size, device=args.device, workers=args.workers, val_every=args.val_every,
           base=args.base)
    return 0


def _evaluate(args) -> int:
    from hcl.data import IHarmony4
    from hcl.evaluate import evaluate, summarize, summarize_by_ratio, table, write_json
    from hcl.files import check_output_file
    from hcl.inference import load_harmonizer
    from hcl.runtime import resolve_device

    if args.json:
        check_output_file(args.json, args.force, "--json")
    tables = table_files(args.tables, args.force) if args.tables else []
    dataset = IHarmony4(args.data, args.split, subsets=args.subsets, image_size=args.image_size)
    harmonizer = load_harmonizer(args.checkpoint, resolve_device(args.device))
    records = evaluate(dataset, harmonizer, args.batch_size, args.convention, baselines=True)
    summary = summarize(records)
    which = "the shipped demo checkpoint" if args.checkpoint is None else args.checkpoint
    averaged = f", {harmonizer.networks} networks' outputs averaged" if harmonizer.networks > 1 else ""
    print(f"{len(records)} {args.split} images at {args.image_size} px, model: {which} (runs at "
          f"{harmonizer.net_size} px{averaged}), PSNR convention: {args.convention}; baseline: the closed-form boundary fit "
          "alone (no learning; a transform-head network starts as it)")
    print(table(summary, "II"))
    print()
    print(table(summary, "III"))
    print()
    print("by foreground ratio (MSE / fMSE):")
    for method, buckets in summarize_by_ratio(records).items():
        print(f"  {method}: " + ", ".join(f"{b} {v['mse']:.2f} / {v['fmse']:.2f} (n={v['count']})" for b, v in buckets.items()))
    if "fit" in summary and "model" in summary:
        fit, model = summary["fit"]["All"], summary["model"]["All"]
        print(f"training adds over the fit alone: fMSE {fit['fmse']:.1f} → {model['fmse']:.1f} "
              f"({model['fmse'] / fit['fmse']:.2f}×), PSNR {fit['psnr']:.2f} → {model['psnr']:.2f}, "
              f"fSSIM ×100 {100 * fit['fssim']:.2f} → {100 * model['fssim']:.2f}")
    if args.json:
        write_json(summary, args.json)
        print(f"wrote {args.json}")
    if tables:
        Path(args.tables).mkdir(parents=True, exist_ok=True)
        for path, which, fmt in tables:
            path.write_text(table(summary, which, fmt=fmt) + ("\n" if fmt == "markdown" else ""))
        print(f"wrote Tables II and III (markdown and CSV) to {args.tables}")
    return 0


def table_files(folder: str, force: bool) -> list[tuple[Path, str, str]]:
    """``(path, table, format)`` of the four files ``--tables DIR`` writes, checked before the evaluation:
    DIR a folder (or absent), and none of them replaced without ``--force``."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UserInputError(f"{folder}: exists and is not a folder; choose another --tables DIR")
    files = [(folder / f"table_{which}.{ext}", which, fmt) for which in ("II", "III")
             for ext, fmt in (("md", "markdown"), ("csv", "csv"))]
    for path, _, _ in files:
        if path.exists() and not force:
            raise UserInputError(f"{path}: already exists; choose another --tables DIR or pass --force to replace it")
    return files


def _harmonize(args) -> int:
    from hcl.harmonize import harmonize_file
    from hcl.runtime import resolve_device

    out = harmonize_file(args.composite, args.mask, args.out, args.checkpoint, resolve_device(args.device), args.force)
    print(f"wrote {out}")
    return 0


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 1, like every other bad input."""

    def error(self, message: str):
        self.exit(1, f"hcl: error: {self.prog}: {message} (see {self.prog} --help)\n")


def _parse_bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per field of hcl.config.RunConfig (``--image-size``, ``--hcl-reading`` …), default None:
    unset flags keep the preset's value."""
    from hcl.config import PRESETS, field_default, flat_fields

    tiny = PRESETS["tiny"].flat()
    for name, (_, f) in flat_fields().items():
        if name == "preset":
            continue
        meta = f.metadata
        flag = meta.get("flag") or "--" + name.replace("_", "-")
        default = field_default(f)
        kind = type(default) if default is not None else str
        kwargs = {"dest": name, "default": None, "help": f"{meta['help']} (tiny: {tiny[name]})"}
        if meta.get("choices"):
            kwargs["choices"] = meta["choices"]
        if meta.get("metavar"):
            kwargs["metavar"] = meta["metavar"]
        if isinstance(default, tuple):
            kwargs["type"] = type(default[0])
            kwargs["nargs"] = meta.get("nargs") or "+"
        elif kind is bool:
            kwargs["type"] = _parse_bool
            kwargs["metavar"] = "true|false"
        elif kind is int:
            kwargs["type"] = int
        elif kind is float:
            kwargs["type"] = float
        parser.add_argument(flag, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="hcl", description="Image harmonization with region-wise contrastive learning.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)

    data = commands.add_parser("data", help="build, check or resize iHarmony4-style data")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="DATA_COMMAND", parser_class=Parser)
    mini = data_commands.add_parser("make-mini", help="build a mini-iHarmony4 offline from bundled photos")
    mini.add_argument("out", metavar="OUT", help="folder to create (must be empty or absent)")
    mini.add_argument("--train", type=_positive_int, default=400, help="training triples (default 400)")
    mini.add_argument("--test", type=_positive_int, default=100, help="test triples (default 100)")
    mini.add_argument("--seed", type=int, default=0, help="same seed → byte-identical files (default 0)")
    mini.add_argument("--size", type=_positive_int, default=256, help="image side in pixels (default 256)")
    mini.add_argument("--photos", metavar="DIR", help="use your own photos instead of the bundled ones (with --annotations)")
    mini.add_argument("--annotations", metavar="FILE.json",
                      help="COCO-format outlines of the photos' objects (default: the outlines shipped for the bundled photos)")
    mini.add_argument("--masks", choices=("annotated", "generated", "mixed"), default="annotated",
                      help="annotated: object outlines (default); generated: regions grown from superpixels, blobs and "
                      "depth, which cut through surfaces (never our test split); mixed: a training set, --train "
                      "triples on outlines plus --generated-train on generated regions, the test split outlines only (the "
                      "shipped demo's training set, with --generated-train 1200 --extra-outlines)")
    mini.add_argument("--generated-train", type=_positive_int, metavar="N",
                      help="with --masks mixed: training triples on generated regions (default: as many as --train); "
                      "the same triples --masks generated --train N makes")
    mini.add_argument("--extra-photos", action="store_true",
                      help="with --masks generated or mixed: generated-region training triples also crop the 17 "
                      "packaged extra photos (hcl/assets/photos, none outlined for the mini set); outline triples and "
                      "the test split unchanged")
    mini.add_argument("--extra-outlines", action="store_true",
                      help="with --masks annotated or mixed: object-outline training triples also crop the ten packaged "
                      "photos whose objects we outlined besides the nine (hcl/assets/extra_annotations.json); "
                      "generated-region triples and the test split unchanged")
    mini.add_argument("--extra-annotations", metavar="FILE.json",
                      help="with --extra-outlines: COCO-format outlines of the extra photos in place of "
                      "hcl/assets/extra_annotations.json; only the extra photos FILE outlines take part (e.g. "
                      "tools/drawn_outlines.py's snapped+drawn sets)")
    mini.add_argument("--force", action="store_true", help="replace an existing mini-iHarmony4 in OUT")
    mini.add_argument("--holdout", metavar="PHOTO[,PHOTO]",
                      help="a validation set: these training photos become the test split and leave training")
    mini.set_defaults(handler=_data_make_mini)

    coco = data_commands.add_parser("from-coco", help="build an HCOCO-style set from COCO-format instance annotations")
    coco.add_argument("out", metavar="OUT", help="folder to create (must be empty or absent)")
    coco.add_argument("--images", metavar="DIR", required=True, help="folder holding the annotated images")
    coco.add_argument("--annotations", metavar="FILE.json", required=True, help="COCO-format instances file")
    coco.add_argument("--per-instance", type=_positive_int, default=1, help="composites per kept instance (default 1)")
    coco.add_argument("--test-share", type=float, default=0.2, help="share of images in the test split (default 0.2)")
    coco.add_argument("--seed", type=int, default=0, help="same seed → byte-identical files (default 0)")
    coco.add_argument("--min-area", type=float, default=0.05, help="smallest instance kept, share of its image (default 0.05)")
    coco.add_argument("--max-area", type=float, default=0.5, help="largest instance kept, share of its image (default 0.5)")
    coco.add_argument("--force", action="store_true", help="replace a set built by from-coco in OUT")
    coco.set_defaults(handler=_data_from_coco)

    check = data_commands.add_parser("check", help="validate an iHarmony4 tree and count its triples")
    check.add_argument("root", metavar="ROOT")
    check.set_defaults(handler=_data_check)

    resize = data_commands.add_parser("resize", help="write a copy of a tree with smaller images")
    resize.add_argument("root", metavar="ROOT")
    resize.add_argument("out", metavar="OUT")
    resize.add_argument("--max-side", type=_positive_int, default=1024, help="longest side in pixels (default 1024)")
    resize.add_argument("--force", action="store_true", help="write into a non-empty OUT")
    resize.set_defaults(handler=_data_resize)

    train = commands.add_parser("train", help="train a model (torchrun for several processes)",
                                description="Every setting of hcl.config.RunConfig is a flag; the preset gives the "
                                            "defaults (shown for --config tiny).")
    from hcl.config import PRESETS  # light: the configuration module imports no torch

    train.add_argument("--config", choices=list(PRESETS), default="tiny",
                       help="preset: 'paper' (the paper as printed), 'tiny' (the paper at CPU size), 'demo' (our own "
                            "method at CPU size, the shipped checkpoint's recipe); default tiny")
    train.add_argument("--resume", action="store_true", help="continue from OUT/checkpoints/last.pt")
    train.add_argument("--no-s2am", action="store_true", help="remove the S2AM attention (same as --s2am none)")
    add_config_flags(train)
    train.set_defaults(handler=_train)

    ablate = commands.add_parser("ablate", help="the Table VI ablation: train and evaluate each row × seed (cached)")
    ablate.add_argument("--list", action="store_true", help="list the rows, one per line, name first")
    ablate.add_argument("--data", metavar="ROOT", help="iHarmony4 root (mini: data/mini-iharmony4)")
    ablate.add_argument("--out", metavar="DIR", help="folder for the runs, ablation.json and ablation.md")
    ablate.add_argument("--rows", metavar="R1,R2,…", help="comma-separated rows (default: all)")
    ablate.add_argument("--seeds", type=_positive_int, default=3, help="seeds 0…N−1 per row (default 3)")
    ablate.add_argument("--steps", type=_positive_int, default=300, help="training steps per run (default 300)")
    ablate.add_argument("--image-size", type=_positive_int, default=128, help="training size (default 128)")
    ablate.add_argument("--batch-size", type=_positive_int, default=8, help="batch size (default 8)")
    ablate.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")
    ablate.add_argument("--workers", type=int, default=1, help="data loader workers (default 1)")
    ablate.add_argument("--val-every", type=_positive_int, metavar="N",
                        help="validate every N steps, for validation curves (default: at the end only)")
    ablate.add_argument("--base", default="demo", choices=["demo", "tiny"],  # hcl.ablation.BASES
                        help="the preset each row changes: demo (ours, default) or tiny (the paper's network)")
    ablate.set_defaults(handler=_ablate)

    evaluate = commands.add_parser("evaluate", help="Tables II/III metrics of a checkpoint")
    evaluate.add_argument("--checkpoint", help="checkpoint (default: the shipped demo checkpoint)")
    evaluate.add_argument("--data", required=True, metavar="ROOT")
    evaluate.add_argument("--split", default="test", choices=["train", "test"])
    evaluate.add_argument("--subsets", nargs="+", choices=["HCOCO", "HAdobe5k", "HFlickr", "Hday2night"])
    evaluate.add_argument("--image-size", type=_positive_int, default=256,
                          help="evaluation resolution; the net runs at its own, then an image output's change is upsampled and a "
                               "colour transform applied at full size (Table IV)")
    evaluate.add_argument("--json", metavar="OUT.json", help="write the summary as JSON")
    evaluate.add_argument("--tables", metavar="DIR", help="write Tables II and III as markdown and CSV into DIR")
    evaluate.add_argument("--force", action="store_true", help="replace the --json file or the --tables files if they exist")
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
