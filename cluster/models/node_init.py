"""Ray Serve LLM's node initialisation, skipped for a checkpoint already on the node.

Before its engine starts, each model replica runs a Ray task on every node of its placement
group to download the model there (``initialize_node``). The task runs in the engine's own
runtime environment, so Ray starts a fresh worker process for it: ~7 s of process start and
imports on a 2-core node, at every engine start, even when the checkpoint is a local folder
(the zoo's, or weights on a shared volume) and there is nothing to download. Ray's callback
hook (``LLMConfig.callback_config``) lets the replica skip it; a model named by a Hugging
Face ID or a cloud URI still gets it.
"""

from __future__ import annotations

import os

from ray.llm._internal.common.callbacks.base import CallbackBase


class SkipDownloadForLocalCheckpoint(CallbackBase):
    async def on_before_node_init(self) -> None:
        source = self.llm_config.model_loading_config.model_source
        # A placement group's bundles share the replica's node (STRICT_PACK), so a folder
        # the replica sees is there for every worker of the engine.
        if isinstance(source, str) and os.path.isdir(source):
            self.ctx.run_init_node = False
