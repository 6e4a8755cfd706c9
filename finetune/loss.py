"""The training loss on answer tokens only, with the LM head applied to those positions alone.

A grounded training example is mostly prompt: system prompt, passages, question. Only the answer
carries labels, yet a causal LM's forward projects every position through the LM head (576 x 49,152
for SmolLM2: a fifth of the model's compute per token, and a (batch, length, vocabulary) logits
tensor of 1-3 GB at batch 16). TRL's fused LM head avoids the big tensor, but on a CPU it still
scores every position (it compacts to labelled positions only where Triton runs). Here the backbone
runs as usual and the head sees only the positions whose next token is labelled; measured in
`benchmarks/train_speed.py`.
"""

import functools
import types

import torch
import torch.nn.functional as F
from transformers.modeling_outputs import CausalLMOutputWithPast
from trl import SFTTrainer


def add_answer_only_head(model) -> None:
    """Let `model(..., labels=labels, answer_only=True)` return only the loss over labelled positions.

    Without `answer_only` the forward is the original one, so generation is unchanged. Patch the model
    before PEFT wraps it; the wrappers (PEFT, DDP) pass the keyword through.
    """
    original_forward = model.forward

    @functools.wraps(type(model).forward)  # generate() checks its keyword arguments against this signature
    def forward(self, *args, answer_only=False, labels=None, num_items_in_batch=None, **kwargs):
        if not answer_only:
            if labels is not None:
                kwargs["labels"] = labels
            return original_forward(*args, **kwargs)
        kwargs["use_cache"] = False
        hidden = self.base_model(*args, **kwargs).last_hidden_state[:, :-1]
        targets = labels[:, 1:].to(hidden.device)
        answer = targets != -100
        logits = self.get_output_embeddings()(hidden[answer]).float()
        total = answer.sum().clamp(min=1) if num_items_in_batch is None else num_items_in_batch
        loss = F.cross_entropy(logits, targets[answer], reduction="sum") / total
        return CausalLMOutputWithPast(loss=loss)

    model.forward = types.MethodType(forward, model)


class AnswerOnlyTrainer(SFTTrainer):
    """TRL's SFTTrainer with the answer-only loss above (and without TRL's per-token entropy and
    accuracy metrics, which need every position's logits)."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        inputs = {k: v for k, v in inputs.items() if k != "completion_mask"}
        loss = model(**inputs, answer_only=True, num_items_in_batch=num_items_in_batch).loss
        # As in TRL and Trainer: `num_items_in_batch` counts every rank's tokens, and DDP averages gradients.
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * self.accelerator.num_processes
        if return_outputs:
            return loss, CausalLMOutputWithPast(loss=loss)
        return loss

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad(), self.compute_loss_context_manager():
            loss = self.compute_loss(model, inputs)
        return loss.detach(), None, None
