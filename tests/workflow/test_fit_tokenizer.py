"""Stage fit_tokenizer: residual codebooks fitted on the train split's music, measured on val's."""

import json

import numpy as np

from pipelines.config import Paths
from pipelines.dag import stages
from pipelines.families.dance2music import stage_fit_tokenizer as fit_tokenizer
from pipelines.families.dance2music.files import tokenizer_files
from pipelines.families.dance2music.tokenizer import MelKMeansTokenizer
from pipelines.stages import acquire, audio_features

from ..helpers import make_params


def test_tokenizer_is_fitted_on_train_music_and_scored_on_val_music(tmp_path):
    params = make_params(tmp_path)
    acquire.main(params)
    audio_features.main(params)  # the music it reads is what audio_features kept
    fit_tokenizer.main(params)
    files = tokenizer_files(params)
    tok = MelKMeansTokenizer.load(files["tokenizer"])
    cfg = params["dance2music"]["mel_kmeans"]
    assert (tok.n_codebooks, tok.codebook_size, tok.frame_rate) == (2, 16, cfg["sample_rate"] / cfg["hop_length"])
    m = json.loads(files["metrics"].read_text())
    rows = Paths(params).index.joinpath("sequences.csv").read_text().splitlines()[1:]
    assert m["files"]["train"] >= 1 and m["files"]["val"] >= 1
    assert m["frames"]["fitted_on"] == min(m["frames"]["train"], 4000) and len(rows) > 0
    train, val = m["relative_error_by_codebooks"]["train"], m["relative_error_by_codebooks"]["val"]
    assert len(train) == len(val) == 2
    assert train[1] < train[0] < 1 and val[1] < val[0] < 1  # better than the mean frame; the second codebook helps
    # deterministic for a seed
    first = np.load(files["tokenizer"])["centroids"].copy()
    fit_tokenizer.main(params)
    np.testing.assert_array_equal(np.load(files["tokenizer"])["centroids"], first)


def test_the_stage_exists_only_for_the_offline_tokenizer(tmp_path):
    params = make_params(tmp_path)
    assert "fit_dance2music_tokenizer" in stages(params)
    params["dance2music"]["tokenizer"] = "encodec"
    assert "fit_dance2music_tokenizer" not in stages(params)
