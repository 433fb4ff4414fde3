"""First inference, offline: the model as a node reads it from its cache must embed exactly as the original folder.

    HF_HUB_OFFLINE=1 HF_HUB_CACHE=NODE_CACHE python first_inference.py REPO_ID ORIGINAL_FOLDER

Prints one line and exits 1 when the embeddings differ: the proof make demo ends with.
"""

import os
import sys

SENTENCE = "Carry the whole deployment across the air gap."


def main(repo_id, original):
    if os.environ.get("HF_HUB_OFFLINE") != "1":
        raise SystemExit("run with HF_HUB_OFFLINE=1: the proof is that nothing is fetched")
    # Imported here: it loads torch, which the argument check above need not wait for.
    from sentence_transformers import SentenceTransformer  # pylint: disable=import-outside-toplevel
    from_cache = SentenceTransformer(repo_id, device="cpu").encode([SENTENCE])[0]
    from_folder = SentenceTransformer(original, device="cpu").encode([SENTENCE])[0]
    equal = bool((from_cache == from_folder).all())
    print(f"first inference offline: {repo_id} from the node cache, {len(from_cache)} dimensions, embedding equal to the original: {equal}")
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
