"""``make test-browser``: every widget of the notebooks, driven in a real JupyterLab in headless Chromium.

1. Chromium: the system's (``/usr/lib/chromium/chromium``); when missing, installed with apt if we
   are root, otherwise one line says how, and the run fails (never a silent pass).
2. A temporary copy of the notebooks with small parameters (their ``parameters`` cell edited), and
   JupyterLab on 127.0.0.1 with a token, its own config/runtime/settings folders, autosave off and
   windowing mode ``none`` (every cell stays in the DOM).
3. Playwright for Python opens each notebook that has a widget, runs all cells from the Run menu,
   waits for the kernel, then changes every control of every widget: sliders (keyboard on the
   handle), dropdowns, toggle buttons and buttons. After each change it checks that the widget's
   figure changed, that a slider's readout shows the value set, and that there is no error output
   and no console error. Screenshots before and after each change go to ``build/browser/``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "build" / "browser"
CHROMIUM = Path("/usr/lib/chromium/chromium")
WIDGET_NOTEBOOKS = ("01_dataset", "03_style_fusion", "04_region_contrastive", "06_evaluation")
TIMEOUT_MS = 300_000


def fail(message: str) -> None:
    print(f"test-browser: FAILED: {message}", file=sys.stderr)
    raise SystemExit(1)


def ensure_chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0:
        fail("Chromium is missing; install it with: sudo apt-get install -y chromium fonts-dejavu-core")
    print("installing Chromium with apt …", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium", "fonts-dejavu-core"], check=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    if not CHROMIUM.exists():
        fail(f"apt installed chromium but {CHROMIUM} is not there")
    return CHROMIUM


def small_copies(folder: Path) -> None:
    """The notebooks with CI-sized parameters, the data they need and the runs notebook 06 reads."""
    from hcl.config import preset
    from hcl.runcache import latest_run, run_cached
    from hcl.notebook_tools import dump, load, parameterize
    from tests.ci_notebooks import CI_PARAMETERS, RUNS, common_parameters

    common = common_parameters()
    if latest_run(RUNS, "notebook05") is None:  # notebook 06 evaluates notebook 05's run: a small one will do
        run_cached(preset("tiny", data=common["DATA_ROOT"], steps=2, image_size=32, batch_size=4, workers=0, k=16,
                          val_images=4), RUNS, "notebook05")
    for stem in WIDGET_NOTEBOOKS:
        notebook = load(REPO / "notebooks" / f"{stem}.ipynb")
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                cell["outputs"], cell["execution_count"] = [], None
        dump(parameterize(notebook, {**common, **CI_PARAMETERS[stem]}), folder / f"{stem}.ipynb")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_settings(settings: Path) -> None:
    files = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                             "checkForUpdates": False},
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    }
    for name, content in files.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content))


def start_lab(root: Path, home: Path):
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
           "PYTHONPATH": str(REPO)}
    write_settings(home / "settings")
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--LabApp.news_url=None"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = open(home / "lab.log", "w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            return server, base, token
        except OSError:
            if server.poll() is not None:
                fail(f"JupyterLab exited; see {home / 'lab.log'}")
            time.sleep(0.5)
    server.terminate()
    fail("JupyterLab did not answer within 60 s")


class Checker:
    def __init__(self, page, notebook: str):
        self.page, self.notebook, self.console_errors, self.shot = page, notebook, [], 0
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))

    def screenshot(self, label: str) -> None:
        self.shot += 1
        self.page.screenshot(path=str(SHOTS / f"{self.notebook}-{self.shot:02d}-{label}.png"), full_page=False)

    def wait_idle(self, timeout_ms: int = TIMEOUT_MS) -> None:
        self.page.wait_for_function(
            """() => {
                const items = [...document.querySelectorAll('.jp-StatusBar-TextItem')].map(e => e.textContent.trim());
                const idle = items.some(t => t.endsWith('| Idle') && !t.startsWith('No Kernel'));
                const busy = [...document.querySelectorAll('.jp-InputPrompt')].some(e => e.textContent.includes('*'));
                return idle && !busy;
            }""", timeout=timeout_ms)

    def errors(self) -> list[str]:
        found = self.page.evaluate(
            """() => [...document.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]')]
                       .map(e => e.textContent).concat(
                     document.body.innerText.includes('Error displaying widget') ? ['Error displaying widget'] : [])""")
        # a progress bar's carriage returns land on stderr too: only tracebacks and warnings count
        found = [t for t in found if "Traceback" in t or "Error" in t or "Warning" in t]
        return found + [e for e in self.console_errors if "favicon" not in e]

    def figure(self, widget) -> str:
        images = widget.locator(".widget-output .jp-RenderedImage img")
        return images.first.get_attribute("src") if images.count() else ""


def change_and_check(checker: Checker, widget, control, kind: str, index: int) -> str:
    page = checker.page
    before = checker.figure(widget)
    readout_before = control.locator(".widget-readout").inner_text() if kind == "slider" else ""
    if kind == "slider":
        handle = control.locator(".noUi-handle").first
        handle.focus()
        page.keyboard.press("End")
        if control.locator(".widget-readout").inner_text() == readout_before:
            page.keyboard.press("Home")
    elif kind == "dropdown":
        select = control.locator("select")
        options = select.locator("option").all_inner_texts()
        current = select.evaluate("s => s.options[s.selectedIndex].text")
        select.select_option(label=next(o for o in options if o != current))
    elif kind == "toggle":
        control.locator("button:not(.mod-active)").first.click()
    elif kind == "button":
        control.click()
    page.wait_for_function("([w, src]) => { const i = w.querySelector('.widget-output .jp-RenderedImage img');"
                           " return i && i.getAttribute('src') !== src; }", arg=[widget.element_handle(), before],
                           timeout=60_000)
    checker.wait_idle()
    page.wait_for_timeout(300)
    after = checker.figure(widget)
    if after == before:
        fail(f"{checker.notebook}: {kind} {index} did not change the figure")
    if kind == "slider":
        readout = control.locator(".widget-readout").inner_text()
        handle = control.locator(".noUi-handle").first
        now, low, high = (handle.get_attribute(a) for a in ("aria-valuenow", "aria-valuemin", "aria-valuemax"))
        if readout == readout_before or not readout.strip():
            fail(f"{checker.notebook}: slider {index} readout stayed {readout!r}")
        if now not in (low, high):  # End or Home was pressed: the value set is an end of the range
            fail(f"{checker.notebook}: slider {index} is at {now}, not at an end ({low}…{high})")
    errors = checker.errors()
    if errors:
        fail(f"{checker.notebook}: error after changing {kind} {index}: {errors[:2]}")
    checker.screenshot(f"{kind}{index}")
    return kind


def drive_notebook(browser, base: str, token: str, name: str) -> list[str]:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    checker = Checker(page, name)
    page.goto(f"{base}/lab/tree/{name}.ipynb?token={token}&reset", timeout=TIMEOUT_MS)
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=TIMEOUT_MS)
    checker.wait_idle()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.locator('li.lm-Menu-item[data-command="runmenu:run-all"]').click()
    page.wait_for_function("() => [...document.querySelectorAll('.jp-InputPrompt')].some(e => e.textContent.includes('*'))",
                           timeout=60_000)
    checker.wait_idle(timeout_ms=900_000)
    errors = checker.errors()
    if errors:
        fail(f"{name}: error output after running all cells: {errors[:2]}")
    widgets = page.locator(".widget-interact, .hcl-widget")
    if widgets.count() == 0:
        fail(f"{name}: no widget rendered")
    done = []
    for w in range(widgets.count()):
        widget = widgets.nth(w)
        widget.scroll_into_view_if_needed()
        if not checker.figure(widget):
            fail(f"{name}: widget {w} shows no figure")
        checker.screenshot(f"widget{w}-before")
        controls = [("slider", widget.locator(".widget-slider")), ("dropdown", widget.locator(".widget-dropdown")),
                    ("toggle", widget.locator(".widget-toggle-buttons")), ("button", widget.locator("button.widget-button"))]
        for kind, locator in controls:
            for i in range(locator.count()):
                done.append(change_and_check(checker, widget, locator.nth(i), kind, i))
    page.close()
    print(f"  {name}: {len(done)} controls changed, each redrew its figure", flush=True)
    return done


def main() -> int:
    chromium = ensure_chromium()
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    home = Path(tempfile.mkdtemp(prefix="hcl-lab-"))
    root = home / "notebooks"
    root.mkdir()
    small_copies(root)
    server, base, token = start_lab(root, home)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(chromium), headless=True,
                                         args=["--disable-gpu", "--no-sandbox", "--disable-background-networking",
                                               "--disable-component-update", "--no-first-run"])
            total = 0
            for name in WIDGET_NOTEBOOKS:
                total += len(drive_notebook(browser, base, token, name))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(home, ignore_errors=True)
    print(f"test-browser: passed — {total} controls in {len(WIDGET_NOTEBOOKS)} notebooks; screenshots in {SHOTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
