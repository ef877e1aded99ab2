"""A Qwen2 decoder in plain PyTorch (1.13), written to match Hugging Face's Qwen2ForCausalLM and llama.cpp's qwen2
graph: RMSNorm, attention with q/k/v biases and grouped KV heads, rotary embedding in the NeoX (rotate-half)
layout, SwiGLU MLP, untied output head. Parameter names are the Hugging Face ones, so the state dict exports as
is. Dimension names: B batch, T tokens, C = hidden_size, H heads, K kv heads, D head dim.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(positions, head_dim, theta):
    """cos/sin of shape (B, 1, T, D) for integer positions (B, T), halves duplicated (NeoX layout)."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    angles = positions.to(torch.float32)[..., None] * inv_freq
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos()[:, None], angles.sin()[:, None]


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C, self.H, self.K = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
        self.D = C // self.H
        self.q_proj = nn.Linear(C, self.H * self.D, bias=True)
        self.k_proj = nn.Linear(C, self.K * self.D, bias=True)
        self.v_proj = nn.Linear(C, self.K * self.D, bias=True)
        self.o_proj = nn.Linear(self.H * self.D, C, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.H, self.D).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.K, self.D).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.K, self.D).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if self.K != self.H:
            k = k.repeat_interleave(self.H // self.K, dim=1)
            v = v.repeat_interleave(self.H // self.K, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.D) + mask
        y = torch.softmax(scores, dim=-1) @ v
        return self.o_proj(y.transpose(1, 2).reshape(B, T, self.H * self.D))


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C, F_ = cfg["hidden_size"], cfg["intermediate_size"]
        self.gate_proj = nn.Linear(C, F_, bias=False)
        self.up_proj = nn.Linear(C, F_, bias=False)
        self.down_proj = nn.Linear(F_, C, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Body(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList([Layer(cfg) for _ in range(cfg["num_hidden_layers"])])
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])


class Qwen2(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = Body(cfg)
        self.lm_head = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif p.dim() == 2:
                std = 0.02 if "embed" in name or "lm_head" in name else 1.0 / math.sqrt(p.shape[1])
                if name.endswith("o_proj.weight") or name.endswith("down_proj.weight"):
                    std /= math.sqrt(2 * cfg["num_hidden_layers"])
                nn.init.normal_(p, std=std)

    def forward(self, ids, pad=None):
        """ids (B, T); pad (B,) = number of left-padding tokens per row (ignored by attention), or None."""
        B, T = ids.shape
        pos = torch.arange(T)[None].expand(B, T)
        mask = torch.full((T, T), float("-inf")).triu(1)[None, None].expand(B, 1, T, T)
        if pad is not None:
            pos = (pos - pad[:, None]).clamp(min=0)
            keys_valid = torch.arange(T)[None] >= pad[:, None]  # (B, T)
            mask = mask.masked_fill(~keys_valid[:, None, None, :], float("-inf"))
            # A padding query attends to itself only, so its (unused) row stays finite.
            eye = torch.eye(T, dtype=torch.bool)[None, None] & ~keys_valid[:, None, :, None]
            mask = mask.masked_fill(eye, 0.0)
        cos, sin = rope_tables(pos, self.cfg["hidden_size"] // self.cfg["num_attention_heads"], self.cfg["rope_theta"])
        x = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            x = layer(x, cos, sin, mask)
        return self.lm_head(self.model.norm(x))
