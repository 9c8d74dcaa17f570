"""The part every make_golden*.py shares: a BlockVAE's outputs, gradients and three Adam steps, in golden.json's format."""
import torch


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def model_case(m, cfg, batch, x, eps, flat=flat):
    """One forward and backward pass of m on x with the noise eps, then three Adam steps (lr 1e-3): the
    dict the Swift GoldenCase reads, its tensors as lists by `flat`."""
    params0 = {k: flat(v) for k, v in m.state_dict().items()}
    shapes = {k: list(v.shape) for k, v in m.state_dict().items()}

    def forward():
        mu, lv = m.encode(x)
        z = mu + eps * torch.exp(0.5 * lv)
        logits = m.decode(z)
        return logits, mu, lv, (m.nll(logits, x) + m.kl(mu, lv)).mean()

    logits, mu, lv, loss = forward()
    loss.backward()
    grads = {k: flat(p.grad) for k, p in m.named_parameters()}
    opt = torch.optim.Adam(m.parameters(), 1e-3)
    m.zero_grad()
    for _ in range(3):
        opt.zero_grad()
        forward()[3].backward()
        opt.step()
    return dict(model=cfg, batch=batch, names=list(params0.keys()), shapes=shapes, params=params0,
                x=flat(x), eps=flat(eps), logits=flat(logits), mean=flat(mu), logvar=flat(lv),
                loss=loss.item(), grads=grads,
                params_after_3_adam_steps={k: flat(v) for k, v in m.state_dict().items()})
