"""``mint demo``: the offline tour against the bundled fake server on loopback."""

from __future__ import annotations

from .._client import Mint
from ._app import State, _download, _wait
from ._output import human_size, print_json, print_report

__all__ = ["run_demo"]


def run_demo(state: State, out_dir: str, speed: float, prompt: str) -> None:
    """Start the fake, generate a world in review mode, approve it, download every asset."""
    from ..testing import FakeMint, RealClock, serve_fake_mint

    say = state.say
    say(f"Starting the bundled fake Mint server on loopback (time x{speed:g})...")
    # Files of a few MiB, streamed at a pace where the progress bars have something to show.
    fake = FakeMint(clock=RealClock(speed), asset_size=4 * 1024 * 1024,
                    asset_rate=24 * 1024 * 1024)  # fmt: skip
    with serve_fake_mint(fake) as server:
        say(f"  API {server.base_url}   CDN {server.asset_base_url}")
        state.api_key, state.base_url = server.api_key, server.base_url
        with Mint(api_key=server.api_key, base_url=server.base_url) as mint:
            say(f"1. Start a world in review mode: {prompt!r}")
            op = mint.worlds.generate(prompt, generation_mode="review", generation_preset="fast")
            say(f"   operation {op.id} is {op.status}")
            say("2. Wait for the preview")
            op = _wait(state, mint, op, 600)
            preview = op.assets.preview_image_url if op.assets else None
            say(f"   preview ready: {preview}")
            say("3. Approve the preview and wait for the final world")
            op = mint.operations.approve(op)
            op = _wait(state, mint, op, 600)
            say(f"   {op.id} {op.status}; world {op.resource_id}")
            say(f"4. Download every asset into {out_dir}/")
            # The fake server ends with the demo: an interrupted demo is run again, not resumed.
            report = _download(state, mint, op, out_dir)
            state.hint = None
    if state.json:
        print_json({"operation": op, "download": report})
    else:
        print_report(state.out, report)
        say(f"Done: {len(report.assets)} files, {human_size(report.total_bytes)} in "
            f"{report.directory}. Use the same commands against the real API by setting "
            "MINT_API_KEY.")  # fmt: skip
