"""Decode the reference clips with the ffmpeg CLI and pick the frames protocol.md section 2 samples.

Runs on the development machine (the GPU machine has no ffmpeg). Writes, per case, the sampled
frames and the still as lossless RGB PNGs plus cases.json; export_reference.py reads them there.

    python3 scripts/export/extract_frames.py --shared ../shared/seedbench --out .device/cases
"""

import argparse
import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np

CLIPS = [
    # (basename, why): the short one samples fewer than 16 frames (3.3 s -> 6 frames).
    ("f71fb12c-211c-495b-a893-1f73e0538475_QA-0.mp4", "short clip, 6 frames"),
    ("c847fafa-725f-4e25-843e-84e4cca97ce0_QA-36.mp4", "9.8 s, 16 frames, 384x288"),
    ("17be1d0a-f213-4126-ab6e-08e5c8ee5b93_QA-30.mp4", "20.9 s, 16 frames, 512x288"),
]
STILL_ONLY_SAMPLE_ID = 5
STILL_ONLY_QUESTION = (
    "Considering my current observation shown in the image, what action should I take next in order to "
    "prepare the garlic and chilli and wash the plate?"
)
# The still for sample 5 is made from a real frame of a clip not used as a case clip.
STILL_SOURCE_CLIP = "0dedbbb0-d1a4-4231-a980-2b43acc08cb2_QA-62.mp4"
STILL_SOURCE_FRAME = 600


def probe(path: Path) -> tuple[int, float, int, int]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
         "stream=nb_read_frames,avg_frame_rate,width,height", "-of", "json", str(path)],
        check=True, capture_output=True, text=True).stdout
    s = json.loads(out)["streams"][0]
    num, den = (int(x) for x in s["avg_frame_rate"].split("/"))
    return int(s["nb_read_frames"]), num / den, int(s["width"]), int(s["height"])


def floor2(x: float) -> int:
    return int(math.floor(x / 2) * 2)


def frame_count(n_frames: int, fps: float) -> int:
    """protocol.md: floor2(min(max(N / fps * 2, 4), floor2(min(16, N)), N))."""
    n = floor2(min(max(n_frames / fps * 2, 4), floor2(min(16, n_frames)), n_frames))
    if n < 2:
        raise ValueError(f"clip has too few frames ({n_frames})")
    return n


def linspace_f32_round(n_frames: int, n: int) -> list[int]:
    """torch.linspace(0, N-1, n) in float32 (its two-sided CPU formula), then round half to even."""
    start, end = np.float32(0), np.float32(n_frames - 1)
    step = (end - start) / np.float32(n - 1)
    vals = []
    for i in range(n):
        if i < n / 2:
            v = start + step * np.float32(i)
        else:
            v = end - step * np.float32(n - i - 1)
        vals.append(np.float32(v))
    return [int(x) for x in np.rint(np.array(vals, dtype=np.float32))]


def decode_frames(path: Path, width: int, height: int, wanted: set[int]) -> tuple[dict[int, np.ndarray], int]:
    """Decode every frame to rgb24 with ffmpeg (libswscale defaults) and keep the wanted ones."""
    proc = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-vsync", "passthrough",
         "-pix_fmt", "rgb24", "-f", "rawvideo", "-"], stdout=subprocess.PIPE)
    size = width * height * 3
    kept: dict[int, np.ndarray] = {}
    count = 0
    assert proc.stdout is not None
    while True:
        buf = proc.stdout.read(size)
        if len(buf) < size:
            break
        if count in wanted:
            kept[count] = np.frombuffer(buf, np.uint8).reshape(height, width, 3).copy()
        count += 1
    if proc.wait() != 0:
        raise RuntimeError(f"ffmpeg failed on {path}")
    return kept, count


def write_png(rgb: np.ndarray, dest: Path) -> None:
    h, w, _ = rgb.shape
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-i", "-",
         "-pix_fmt", "rgb24", "-compression_level", "9", str(dest)], input=rgb.tobytes(), check=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default="../shared/seedbench")
    ap.add_argument("--out", default=".device/cases")
    ap.add_argument("--fixtures", default="e2e/fixtures/reference")
    args = ap.parse_args()
    shared, out, fixtures = Path(args.shared), Path(args.out), Path(args.fixtures)
    out.mkdir(parents=True, exist_ok=True)
    fixtures.mkdir(parents=True, exist_ok=True)
    examples = {}
    for line in (shared / "egoplan-bench2-examples" / "examples.jsonl").read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            examples[rec["video_basename"]] = rec
    ffmpeg_version = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.split("\n")[0]
    cases = []
    for basename, why in CLIPS:
        rec = examples[basename]
        path = shared / "egoplan-bench2-examples" / basename
        n_frames, fps, width, height = probe(path)
        n = frame_count(n_frames, fps)
        idx = linspace_f32_round(n_frames, n)
        frames, decoded = decode_frames(path, width, height, set(idx) | {n_frames - 1})
        if decoded != n_frames:
            raise RuntimeError(f"{basename}: ffprobe counted {n_frames} frames, decode gave {decoded}")
        case_id = f"clip-{basename.split('-')[0]}"
        d = out / case_id
        d.mkdir(exist_ok=True)
        names = []
        for k, i in enumerate(idx):
            name = f"frame_{k:02d}_src{i:04d}.png"
            write_png(frames[i], d / name)
            names.append(name)
        write_png(frames[n_frames - 1], d / "still_last_frame.png")
        if n < 16:  # the short clip's sampled frames are committed for the browser resize test
            fd = fixtures / case_id
            fd.mkdir(exist_ok=True)
            for name in names:
                shutil.copy(d / name, fd / name)
        cases.append({
            "case_id": case_id, "why": why, "sample_id": rec["sample_id"], "clip": basename,
            "question": rec["question"], "choices": [rec["choice_a"], rec["choice_b"], rec["choice_c"], rec["choice_d"]],
            "golden_choice_idx": rec["golden_choice_idx"], "N": n_frames, "fps": fps, "width": width, "height": height,
            "n_sampled": n, "indices": idx, "frames": names, "still": "last-frame", "still_png": "still_last_frame.png",
            "decoder": f"{ffmpeg_version}; ffmpeg -i CLIP -vsync passthrough -pix_fmt rgb24 -f rawvideo (libswscale defaults)",
        })
        print(case_id, basename, "N", n_frames, "fps", fps, "n", n, "idx", idx, flush=True)

    # Still-only case: EgoPlan validation sample 5, its still made from a real clip frame.
    ego = json.loads((shared / "EgoPlan_validation.json").read_text())
    rec = next(r for r in ego if r["sample_id"] == STILL_ONLY_SAMPLE_ID)
    if rec["task_progress_metadata"]:
        raise RuntimeError("sample 5 was expected to be still-only")
    path = shared / "egoplan-bench2-examples" / STILL_SOURCE_CLIP
    n_frames, fps, width, height = probe(path)
    frames, _ = decode_frames(path, width, height, {STILL_SOURCE_FRAME})
    still_name = f"still-sample{STILL_ONLY_SAMPLE_ID}.png"
    write_png(frames[STILL_SOURCE_FRAME], fixtures / still_name)
    case_id = f"still-sample{STILL_ONLY_SAMPLE_ID}"
    (out / case_id).mkdir(exist_ok=True)
    shutil.copy(fixtures / still_name, out / case_id / still_name)
    cases.append({
        "case_id": case_id, "why": "still-only question (empty task_progress_metadata)",
        "sample_id": rec["sample_id"], "clip": None, "question": STILL_ONLY_QUESTION,
        "choices": [rec["choice_a"], rec["choice_b"], rec["choice_c"], rec["choice_d"]],
        "golden_choice_idx": rec["golden_choice_idx"], "N": None, "fps": None, "n_sampled": 0, "indices": [],
        "frames": [], "still": still_name, "still_png": still_name,
        "still_made_from": f"{STILL_SOURCE_CLIP} frame {STILL_SOURCE_FRAME}",
    })
    (out / "cases.json").write_text(json.dumps(cases, indent=1))
    print("wrote", out / "cases.json")


if __name__ == "__main__":
    main()
