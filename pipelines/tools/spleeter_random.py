"""Write a Spleeter checkpoint with random weights of the real architecture.

For tests and the ingestion benchmark, where the released weights cannot be downloaded.
Run with the Spleeter environment's interpreter:
``.venv-spleeter/bin/python -m pipelines.tools.spleeter_random <model_dir> <2|4> [seed]``.
It builds Spleeter's own model graph for ``spleeter:<n>stems`` (the released U-Net
configuration), initialises every variable at random and saves ``<model_dir>/<n>stems/``
in the layout of the released archives (``checkpoint``, ``model.index``, ``model.data-*``).
"""

import sys
from pathlib import Path


def write_random_checkpoint(model_dir: str, n_stems: int, seed: int = 0) -> None:
    import tensorflow as tf
    from spleeter.model import EstimatorSpecBuilder, InputProviderFactory
    from spleeter.utils.configuration import load_configuration

    params = load_configuration(f"spleeter:{n_stems}stems")
    out = Path(model_dir) / f"{n_stems}stems"
    out.mkdir(parents=True, exist_ok=True)
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(seed)
        features = InputProviderFactory.get(params).get_input_dict_placeholders()
        builder = EstimatorSpecBuilder(features, params)
        builder.outputs  # noqa: B018  builds the separation network's variables
        tf.compat.v1.train.get_or_create_global_step()  # the estimator restores it too
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            tf.compat.v1.train.Saver().save(sess, str(out / "model"))


if __name__ == "__main__":
    write_random_checkpoint(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 0)
