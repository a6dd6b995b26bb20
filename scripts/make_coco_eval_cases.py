#!/usr/bin/env python3
"""Writes the COCO evaluation test cases (tests/data/coco/) and their expected numbers, computed by
the real pycocotools, for tests/test_metrics_coco_eval.cpp.

    python3 scripts/make_coco_eval_cases.py PYCOCOTOOLS_DIR [OUT_DIR]

PYCOCOTOOLS_DIR is the folder that holds the `pycocotools` package (cocoapi's PythonAPI/ after
building its C extension in place). OUT_DIR defaults to tests/data/coco. No cocoapi code is part of
this repository; how the expected numbers in tests/data/coco/expected.json were made:

    apt-get install -y cython3 python3-dev python3-numpy            # Debian 12
    git clone https://github.com/cocodataset/cocoapi /tmp/cocoapi   # commit 8c9bcc3
    cd /tmp/cocoapi/PythonAPI && /usr/bin/python3 setup.py build_ext --inplace
    /usr/bin/python3 scripts/make_coco_eval_cases.py /tmp/cocoapi/PythonAPI

(numpy 1.24, Python 3.11.2.) cocoeval.py still uses `np.float`, which numpy 1.24 removed; this
script sets np.float = float (numpy's float64) before evaluating, which is what that alias was.
coco.py imports matplotlib only to draw annotations (showAnns); where matplotlib is not installed,
empty stand-in modules are registered so that the import succeeds (nothing here draws).

For each case NAME it writes NAME_gt.json (instances) and NAME_dt.json (results), then runs
COCOeval(gt, dt, 'bbox').evaluate(); accumulate(); summarize() and records in expected.json:
  stats        the 12 numbers of summarize()
  category_ap  per category id: mean of precision[:, :, k, area=all, maxDets=100] over values > -1
               (-1 when there are none)
  summary      for the first case, the text summarize() printed
pycocotools cannot load an empty results list (loadRes reads anns[0]); the case with no detections
builds the results object directly with an empty annotation list instead.
"""
import contextlib
import copy
import io
import json
import os
import random
import sys


def image_list(n, start=1):
    return [{"id": i, "file_name": "%06d.png" % i, "width": 640, "height": 480} for i in range(start, start + n)]


def categories(ids):
    return [{"id": c, "name": "class%d" % c} for c in ids]


def ann(ann_id, image_id, cat, bbox, area=None, crowd=0):
    return {"id": ann_id, "image_id": image_id, "category_id": cat, "bbox": bbox,
            "area": bbox[2] * bbox[3] if area is None else area, "iscrowd": crowd}


def det(image_id, cat, bbox, score):
    return {"image_id": image_id, "category_id": cat, "bbox": bbox, "score": score}


def case_hand():
    # One image, one category, three objects; four detections, worked out by hand in the C++ test:
    # 0.9 hits object 1 (IoU 1), 0.8 misses (IoU 0 with all), 0.7 hits object 2 with IoU 0.6,
    # 0.6 hits object 3 (IoU 1). Object 2 is found at the thresholds 0.50, 0.55 and 0.60 (IoU >= t).
    gt = {"images": image_list(1), "categories": categories([1]), "annotations": [
        ann(1, 1, 1, [0, 0, 100, 100]),
        ann(2, 1, 1, [200, 0, 100, 100]),
        ann(3, 1, 1, [0, 200, 50, 50]),
    ]}
    dt = [det(1, 1, [0, 0, 100, 100], 0.9),
          det(1, 1, [400, 400, 20, 20], 0.8),
          det(1, 1, [200, 0, 100, 60], 0.7),   # inside object 2: IoU 6000 / 10000 = 0.6
          det(1, 1, [0, 200, 50, 50], 0.6)]
    return gt, dt


def case_ties():
    # Equal scores across and within images: a TP and an FP with the same score, in both orders.
    gt = {"images": image_list(3), "categories": categories([1, 2]), "annotations": [
        ann(1, 1, 1, [10, 10, 40, 40]), ann(2, 2, 1, [10, 10, 40, 40]), ann(3, 3, 1, [100, 100, 60, 30]),
        ann(4, 1, 2, [0, 0, 20, 20]), ann(5, 2, 2, [50, 50, 20, 20]),
    ]}
    dt = [det(1, 1, [300, 300, 40, 40], 0.5),  # FP, first in the file
          det(1, 1, [10, 10, 40, 40], 0.5),    # TP with the same score
          det(2, 1, [10, 10, 40, 40], 0.5),    # TP, another image, same score
          det(3, 1, [0, 0, 10, 10], 0.5),      # FP
          det(3, 1, [100, 100, 60, 30], 0.4),
          det(1, 2, [0, 0, 20, 20], 0.7), det(1, 2, [0, 0, 20, 18], 0.7), det(2, 2, [52, 52, 20, 20], 0.7),
          det(2, 2, [300, 10, 20, 20], 0.7)]
    return gt, dt


def case_duplicates():
    # The same box reported several times: one TP, the rest FPs; and two gts overlapping one det.
    gt = {"images": image_list(2), "categories": categories([1]), "annotations": [
        ann(1, 1, 1, [0, 0, 50, 50]), ann(2, 1, 1, [30, 0, 50, 50]), ann(3, 2, 1, [10, 10, 30, 30]),
    ]}
    dt = [det(1, 1, [0, 0, 50, 50], 0.95), det(1, 1, [0, 0, 50, 50], 0.9), det(1, 1, [0, 0, 50, 50], 0.9),
          det(1, 1, [15, 0, 50, 50], 0.8), det(1, 1, [30, 0, 50, 50], 0.3),
          det(2, 1, [10, 10, 30, 30], 0.6), det(2, 1, [11, 11, 30, 30], 0.6), det(2, 1, [10, 10, 30, 31], 0.2)]
    return gt, dt


def case_crowd():
    # A crowd region: detections inside it are ignored (IoU = intersection / detection area), any
    # number of them; a crowd-only image; a normal object next to a crowd.
    gt = {"images": image_list(3), "categories": categories([1]), "annotations": [
        ann(1, 1, 1, [0, 0, 200, 200], area=30000, crowd=1),
        ann(2, 1, 1, [250, 0, 60, 60]),
        ann(3, 2, 1, [0, 0, 300, 300], crowd=1),
        ann(4, 3, 1, [10, 10, 30, 30]), ann(5, 3, 1, [20, 20, 100, 100], crowd=1),
    ]}
    dt = [det(1, 1, [10, 10, 20, 20], 0.9), det(1, 1, [50, 50, 20, 20], 0.85), det(1, 1, [190, 0, 20, 20], 0.8),
          det(1, 1, [250, 0, 60, 60], 0.7), det(1, 1, [250, 0, 60, 50], 0.75),
          det(2, 1, [0, 0, 10, 10], 0.6), det(2, 1, [400, 400, 10, 10], 0.5),
          det(3, 1, [10, 10, 30, 30], 0.4), det(3, 1, [30, 30, 30, 30], 0.45), det(3, 1, [12, 12, 30, 30], 0.35)]
    return gt, dt


def case_empty_categories():
    # Category 2 has no gt (-1, left out of the means), category 3 has gt but no detections (AP 0),
    # category 9 is not in the category list (its detections are dropped), category 4 is listed only.
    gt = {"images": image_list(2), "categories": categories([1, 2, 3, 4]), "annotations": [
        ann(1, 1, 1, [0, 0, 40, 40]), ann(2, 2, 1, [10, 10, 40, 40]), ann(3, 2, 3, [100, 100, 50, 50]),
    ]}
    dt = [det(1, 1, [0, 0, 40, 40], 0.9), det(2, 1, [10, 10, 40, 35], 0.8),
          det(1, 2, [0, 0, 40, 40], 0.99), det(2, 2, [5, 5, 10, 10], 0.3),
          det(1, 9, [0, 0, 40, 40], 0.95)]
    return gt, dt


def case_no_detections():
    gt = {"images": image_list(2), "categories": categories([1, 2]), "annotations": [
        ann(1, 1, 1, [0, 0, 40, 40]), ann(2, 2, 2, [10, 10, 100, 100]),
    ]}
    return gt, []


def case_image_without_gt():
    # Images 2 and 3 have no annotations at all; detections there are false positives (or, when
    # outside an area range, ignored there).
    gt = {"images": image_list(3), "categories": categories([1]), "annotations": [
        ann(1, 1, 1, [0, 0, 40, 40]), ann(2, 1, 1, [100, 100, 120, 120]),
    ]}
    dt = [det(1, 1, [0, 0, 40, 40], 0.5), det(1, 1, [100, 100, 120, 110], 0.3),
          det(2, 1, [0, 0, 40, 40], 0.9), det(2, 1, [0, 0, 10, 10], 0.6), det(3, 1, [0, 0, 200, 200], 0.4)]
    return gt, dt


def case_max_dets():
    # 120 detections in one image (more than maxDets = 100), 15 objects; the best-scoring ones are
    # not all hits, so AR@1, AR@10 and AR@100 differ, and some hits fall after the cut.
    rng = random.Random(7)
    anns = []
    for i in range(15):
        x, y = (i % 5) * 120, (i // 5) * 150
        anns.append(ann(i + 1, 1, 1, [x, y, 80, 100]))
    dets = []
    for j in range(120):
        if j % 8 == 0:
            g = anns[(j // 8) % 15]["bbox"]
            box = [g[0] + rng.randint(-8, 8), g[1] + rng.randint(-8, 8), 80, 100]
        else:
            box = [rng.randint(0, 600), rng.randint(0, 400), rng.randint(5, 90), rng.randint(5, 90)]
        dets.append(det(1, 1, box, round(1 - j / 130 + rng.uniform(-0.05, 0.05), 3)))
    return {"images": image_list(1), "categories": categories([1]), "annotations": anns}, dets


def case_areas():
    # Boxes on the area-range boundaries (32^2 = 1024 is both small and medium, 96^2 = 9216 both
    # medium and large), a gt whose `area` field differs from its box, and IoU exactly at thresholds
    # (50/100 = 0.5, 75/100 = 0.75, 55/100 = 0.55).
    gt = {"images": image_list(2), "categories": categories([1]), "annotations": [
        ann(1, 1, 1, [0, 0, 32, 32]),                   # 1024: small and medium
        ann(2, 1, 1, [100, 0, 96, 96]),                 # 9216: medium and large
        ann(3, 1, 1, [300, 0, 100, 100], area=500),     # a large box whose object is small
        ann(4, 2, 1, [0, 0, 10, 10]), ann(5, 2, 1, [50, 0, 10, 10]), ann(6, 2, 1, [100, 0, 10, 10]),
    ]}
    dt = [det(1, 1, [0, 0, 32, 32], 0.9), det(1, 1, [100, 0, 96, 96], 0.8), det(1, 1, [300, 0, 100, 100], 0.7),
          det(1, 1, [500, 300, 20, 20], 0.6), det(1, 1, [500, 0, 50, 50], 0.65), det(1, 1, [0, 300, 120, 120], 0.55),
          det(2, 1, [0, 0, 10, 5], 0.5), det(2, 1, [50, 0, 10, 7.5], 0.45), det(2, 1, [100, 0, 5.5, 10], 0.4)]
    return gt, dt


def case_equal_iou():
    # Two overlapping objects A [0, 10] and B [2, 12]; the first detection [1, 11] has the same IoU
    # (90/110) with both and takes the later one, B; the second [2.5, 12.5] (IoU 0.6 with A, 0.905
    # with B) is then left with A, found only up to t = 0.60. Two more, with equal scores, lie in a
    # crowd region (ignored however many there are).
    gt = {"images": image_list(1), "categories": categories([1]), "annotations": [
        ann(1, 1, 1, [0, 0, 10, 10]), ann(2, 1, 1, [2, 0, 10, 10]), ann(3, 1, 1, [0, 50, 40, 40], crowd=1),
    ]}
    dt = [det(1, 1, [1, 0, 10, 10], 0.9), det(1, 1, [2.5, 0, 10, 10], 0.8), det(1, 1, [0, 50, 10, 10], 0.85),
          det(1, 1, [5, 55, 10, 10], 0.85)]
    return gt, dt


def random_case(seed, n_images, n_cats, n_gt, n_dt):
    # Random boxes with one decimal, scores rounded to 2 decimals (many ties), about one in ten gts
    # a crowd, gt areas not always the box's; detections partly jittered copies of gts.
    rng = random.Random(seed)
    anns = []
    for i in range(n_gt):
        w, h = round(rng.uniform(4, 160), 1), round(rng.uniform(4, 160), 1)
        box = [round(rng.uniform(0, 480), 1), round(rng.uniform(0, 320), 1), w, h]
        area = round(w * h * rng.choice([1, 1, 1, 0.6]), 2)
        anns.append(ann(i + 1, rng.randint(1, n_images), rng.randint(1, n_cats), box, area=area,
                        crowd=1 if rng.random() < 0.1 else 0))
    dets = []
    for _ in range(n_dt):
        if rng.random() < 0.6 and anns:
            a = rng.choice(anns)
            g = a["bbox"]
            box = [round(g[0] + rng.gauss(0, g[2] * 0.1), 1), round(g[1] + rng.gauss(0, g[3] * 0.1), 1),
                   round(g[2] * rng.uniform(0.8, 1.2), 1), round(g[3] * rng.uniform(0.8, 1.2), 1)]
            cat = a["category_id"] if rng.random() < 0.85 else rng.randint(1, n_cats)
            dets.append(det(a["image_id"], cat, box, round(rng.random(), 2)))
        else:
            box = [round(rng.uniform(0, 500), 1), round(rng.uniform(0, 350), 1),
                   round(rng.uniform(3, 150), 1), round(rng.uniform(3, 150), 1)]
            dets.append(det(rng.randint(1, n_images), rng.randint(1, n_cats), box, round(rng.random(), 2)))
    gt = {"images": image_list(n_images), "categories": categories(range(1, n_cats + 1)), "annotations": anns}
    return gt, dets


CASES = [
    ("hand", case_hand),
    ("ties", case_ties),
    ("duplicates", case_duplicates),
    ("crowd", case_crowd),
    ("empty_categories", case_empty_categories),
    ("no_detections", case_no_detections),
    ("image_without_gt", case_image_without_gt),
    ("max_dets", case_max_dets),
    ("areas", case_areas),
    ("equal_iou", case_equal_iou),
    ("random_a", lambda: random_case(1, n_images=12, n_cats=3, n_gt=40, n_dt=110)),
    ("random_b", lambda: random_case(2, n_images=3, n_cats=2, n_gt=30, n_dt=130)),
]


def evaluate(COCO, COCOeval, np, gt_path, dt_list):
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(gt_path)
        if dt_list:
            coco_dt = coco_gt.loadRes(copy.deepcopy(dt_list))
        else:
            coco_dt = COCO()
            coco_dt.dataset = {"images": list(coco_gt.dataset["images"]),
                               "categories": copy.deepcopy(coco_gt.dataset["categories"]), "annotations": []}
            coco_dt.createIndex()
        E = COCOeval(coco_gt, coco_dt, "bbox")
        E.evaluate()
        E.accumulate()
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        E.summarize()
    precision = E.eval["precision"]
    category_ap = {}
    for k, cat in enumerate(E.params.catIds):
        s = precision[:, :, k, 0, 2]
        category_ap[str(cat)] = float(np.mean(s[s > -1])) if (s > -1).any() else -1.0
    return [float(x) for x in E.stats], category_ap, text.getvalue()


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.path.insert(0, sys.argv[1])
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "..", "tests", "data", "coco")
    import numpy as np
    np.float = float  # cocoeval.py's np.float; removed in numpy 1.24 (see the top of this file)
    try:
        import matplotlib.pyplot  # noqa: F401
    except ImportError:
        import types
        for name in ("matplotlib", "matplotlib.pyplot", "matplotlib.collections", "matplotlib.patches"):
            sys.modules[name] = types.ModuleType(name)
        sys.modules["matplotlib.collections"].PatchCollection = None
        sys.modules["matplotlib.patches"].Polygon = None
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    os.makedirs(out_dir, exist_ok=True)
    expected = {"generator": "scripts/make_coco_eval_cases.py", "numpy": np.__version__, "cases": {}}
    for index, (name, make) in enumerate(CASES):
        gt, dt = make()
        gt_path = os.path.join(out_dir, name + "_gt.json")
        dt_path = os.path.join(out_dir, name + "_dt.json")
        for path, obj in ((gt_path, gt), (dt_path, dt)):
            with open(path, "w") as f:
                json.dump(obj, f, separators=(",", ":"))
                f.write("\n")
            assert os.path.getsize(path) < 10 * 1024, path + " is over 10 KB"
        stats, category_ap, summary = evaluate(COCO, COCOeval, np, gt_path, dt)
        entry = {"stats": stats, "category_ap": category_ap}
        if index == 0:
            entry["summary"] = summary
        expected["cases"][name] = entry
        print("%-18s AP %.4f AP50 %.4f AR100 %.4f" % (name, stats[0], stats[1], stats[8]))
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
