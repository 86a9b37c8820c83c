"""Break the code on purpose and check that the tests written for it notice: ``python -m tests.mutations``.

Each mutation replaces one piece of source text in a package module with a plausible wrong version,
runs the tests aimed at it, and restores the file (also when interrupted). A mutation the tests do
not catch is printed as SURVIVED and the command exits 1. It runs in about a minute; it is not part of
``make test`` because it rewrites package files while it runs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# (file, text, wrong text, the tests that must fail, what the mutation breaks)
MUTATIONS = [
    ("hcl/files.py", '    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")\n', "    tmp = path\n",
     "tests/test_train.py -k atomic_write or checkpoint_write", "a write straight into the file (write_bytes)"),
    ("hcl/files.py", "        tmp.unlink(missing_ok=True)\n", "        pass\n",
     "tests/test_train.py -k atomic_write", "an interrupted write leaves its temporary file"),
    ("hcl/tutorial.py", 'self.votes[self.order()[0 if side == "A" else 1]] += 1',
     'self.votes[self.names[0 if side == "A" else 1]] += 1', "tests/test_viz.py -k blind",
     "votes tallied by side, not by method"),
    ("hcl/fusion.py", "        self.bias = nn.Linear(inputs, channels)\n        for layer in (self.scale, self.bias):\n"
     "            nn.init.zeros_(layer.weight)\n            nn.init.zeros_(layer.bias)",
     "        self.bias = nn.Linear(inputs, channels)\n        for layer in (self.scale, self.bias):\n"
     "            nn.init.zeros_(layer.weight)\n            nn.init.constant_(layer.bias, 0.1)",
     "tests/test_stats_fusion.py -k identity", "ψ's biases not zero-initialized"),
    ("hcl/pixel_psi.py", "            outputs.append(scale_and_bias[:, channels:].addcmul_(one_plus_s[-1], x))",
     "            outputs.append(one_plus_s[-1].addcmul_(scale_and_bias[:, channels:], x))",
     "tests/test_stats_fusion.py -k folded", "the one-convolution ψ of the map swaps its scale and bias"),
    ("hcl/pixel_psi.py", "            grad_x = torch.baddbmm(one_plus_s * grad_y, transposed, upstream)",
     "            grad_x = torch.baddbmm(grad_y, transposed, upstream)",
     "tests/test_stats_fusion.py -k gradients_of_eqs", "the hand-written backward of ψ forgets the s·∂y term"),
    ("hcl/stats.py", "        alpha = torch.where(filled, grad_mean.view(batch, channels, 1).to(std.dtype) / weight, 0.0) - beta * mean",
     "        alpha = torch.where(filled, grad_mean.view(batch, channels, 1).to(std.dtype) / weight, 0.0)",
     "tests/test_stats_fusion.py -k gradients", "the hand-written backward of σ forgets the mean's share"),
    ("hcl/fusion.py", "        a_f, c_f = s_f * a_f, torch.addcmul(b_f, s_f, c_f)",
     "        a_f, c_f = s_f * a_f, b_f + c_f", "tests/test_stats_fusion.py -k folded",
     "the folded fusion forgets ψ's scale in the shift"),
    ("hcl/attention.py", "        return torch.addcmul(x * torch.addcmul(g_bg, smoothed, g_mix - g_bg), learned, smoothed)",
     "        return torch.addcmul(x * torch.addcmul(g_bg, smoothed, g_bg - g_mix), learned, smoothed)",
     "tests/test_model.py -k printed", "S2AM's folded gates swapped"),
    ("hcl/colour_transform.py", "    scale = min(1.0, FIT_SIDE / max(shape))", "    scale = 1.0",
     "tests/test_inference.py -k fit_side", "the colour transform fitted at full size"),
    ("hcl/model.py", "            pred = image + change\n",
     "            pred = F.interpolate(small, size=image.shape[-2:], mode='bilinear', align_corners=False) + change\n",
     "tests/test_inference.py -k upsampled", "the image head's upsampled *image* instead of its change"),
    ("hcl/model.py", '        final = self.decode(small, small_mask)["final"]',
     '        final = self.features(small, small_mask)["final"]', "tests/test_inference.py -k head_once",
     "the head run twice"),
    ("hcl/model.py", "        return torch.where(mask.to(composite.device) >= 0.5, pred, composite)",
     "        return torch.where(mask.to(composite.device) >= 0.5, pred.float(), composite.float())",
     "tests/test_inference.py -k callers_dtype", "the output (and so the background) rounded to float32"),
    ("hcl/model.py", "        return torch.where(mask.to(composite.device) >= 0.5, pred, composite)",
     "        return pred", "tests/test_inference.py", "the background not kept at all"),
    ("hcl/runcache.py", '    return {"code": code_version(), "settings": settings_identity(config)}',
     '    return {"code": "", "settings": settings_identity(config)}', "tests/test_runcache.py",
     "the run cache keyed on the configuration only"),
    ("hcl/contrastive.py", "                 window: int = LossConfig.window, channels: int = 3, embed_dim: int = 256,",
     "                 window: int = 6, channels: int = 3, embed_dim: int = 256,", "tests/test_config.py -k default",
     "a default literal that drifted from the config"),
    ("hcl/contrastive.py", "    return F.layer_norm(patches, patches.shape[-1:], eps=eps)",
     "    return patches - patches.mean(-1, keepdim=True)", "tests/test_contrastive.py -k hand_written_loop",
     "the MLP's windows centred but not scaled"),
    ("hcl/fusion.py", "            mean, std = masked_mean_std(decoder, torch.ones_like(mask))",
     "            mean, std = masked_mean_std(decoder, 1 - mask)", "tests/test_stats_fusion.py -k loops",
     "AdaIN normalizes the decoder by its background instead of the whole map"),
    ("hcl/fusion.py", "        return (scale, mean_b - mean_f * scale, decoder_bg), unchanged",
     "        return (scale, mean_b - mean_f * scale, (mean_f, std_f)), unchanged",
     "tests/test_stats_fusion.py -k loops", "RainNet's ψ fed the foreground's statistics"),
    ("hcl/attention.py", '            return smooth_mask((mask >= 0.5).to(mask.dtype), self.taps, "reflect")',
     '            return smooth_mask(mask, self.taps, "reflect")', "tests/test_model.py -k loops",
     "the original S2AM's mask not binarized"),
    ("hcl/attention.py", '            return smooth_mask((mask >= 0.5).to(mask.dtype), self.taps, "reflect")',
     '            return smooth_mask((mask >= 0.5).to(mask.dtype), self.taps, "replicate")', "tests/test_model.py -k loops",
     "the original S2AM's borders replicated instead of reflected"),
    ("hcl/attention.py", "        taps = gaussian_taps(math.sqrt(2), radius=2) if original else gaussian_taps(1.0, radius=3)",
     "        taps = gaussian_taps(1.0, radius=2) if original else gaussian_taps(1.0, radius=3)",
     "tests/test_model.py -k loops", "the original S2AM's Gaussian σ"),
]


def run(file: str, text: str, wrong: str, tests: str) -> bool:
    """True when the tests fail against the mutated source (the mutation is caught)."""
    path = REPO / file
    original = path.read_text()
    if original.count(text) != 1:
        raise SystemExit(f"{file}: the text to mutate is not there exactly once; update tests/mutations.py")
    try:
        path.write_text(original.replace(text, wrong))
        command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests.split(" -k ")[0].split()]
        if " -k " in tests:
            command += ["-k", tests.split(" -k ")[1]]
        return subprocess.run(command, cwd=REPO, capture_output=True).returncode != 0
    finally:
        path.write_text(original)


def main() -> int:
    survived = 0
    for file, text, wrong, tests, what in MUTATIONS:
        caught = run(file, text, wrong, tests)
        survived += not caught
        print(f"{'caught  ' if caught else 'SURVIVED'}  {what}  ({file}; {tests})", flush=True)
    print(f"{len(MUTATIONS) - survived} of {len(MUTATIONS)} mutations caught")
    return 1 if survived else 0


if __name__ == "__main__":
    raise SystemExit(main())
