"Notebook 03's exports as a library: the losses, accuracy, Dataset, DataLoader, Optimizer and fit."
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st
from torch import nn, optim

from exp.nb_02 import Lin, Relu, grad_check
from exp.nb_03 import (CrossEntropy, DataLoader, Dataset, Layers, Optimizer, Sampler, accuracy, backward, collate,
                       cross_entropy, evaluate, fit, hand_mlp, log_softmax, logsumexp, nll, train_mnist)

f64 = torch.float64


@st.composite
def logits_and_targets(draw, max_n=8, max_c=6):
    "Random scores (N, C) of any scale, and N classes in [0, C)."
    n, c = draw(st.integers(1, max_n)), draw(st.integers(1, max_c))
    seed, scale = draw(st.integers(0, 2**16)), draw(st.sampled_from([1e-3, 1., 30., 1e3]))
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, generator=g) * scale, torch.randint(0, c, (n,), generator=g)


# ------------------------------------------------------------------------------------------- losses
@settings(deadline=None, max_examples=40)
@given(logits_and_targets())
def test_losses_match_torch(xt):
    x, t = xt
    torch.testing.assert_close(logsumexp(x), torch.logsumexp(x, -1))
    torch.testing.assert_close(log_softmax(x), F.log_softmax(x, -1))
    torch.testing.assert_close(nll(F.log_softmax(x, -1), t), F.nll_loss(F.log_softmax(x, -1), t))
    torch.testing.assert_close(cross_entropy(x, t), F.cross_entropy(x, t))


@pytest.mark.parametrize('f', [logsumexp, log_softmax])
@pytest.mark.parametrize('x, match', [(torch.tensor([[1, 2, 3]]), 'floating-point'), (torch.zeros(2, 0), 'floating-point tensor of scores'),
                                      ([[1., 2.]], 'got a list'), (torch.tensor(3.), 'floating-point tensor of scores')])
def test_logsumexp_and_log_softmax_name_bad_scores(f, x, match):
    "An int tensor used to give a number (PyTorch refuses it), a list an AttributeError, an empty row an IndexError."
    with pytest.raises(ValueError, match=match): f(x)


def test_logsumexp_does_not_overflow():
    x = torch.tensor([[1000., 0., -1000.], [-1e4, -1e4, -1e4]])
    assert torch.isfinite(logsumexp(x)).all()
    torch.testing.assert_close(logsumexp(x), torch.tensor([1000., -1e4 + math.log(3)]))
    assert cross_entropy(x, torch.tensor([1, 2])).isfinite()


inf, nan = math.inf, math.nan
INF_ROWS = torch.tensor([[-inf, -inf, -inf], [inf, 0., 1.], [inf, -inf, 0.], [-inf, 0., 1.], [inf, inf, 0.],
                         [nan, 0., inf], [nan, -inf, -inf], [-1e4, -inf, 3.]])


def test_logsumexp_and_log_softmax_match_torch_on_infinite_rows():
    "A row of all -inf (every class impossible) has logsumexp -inf, a row with +inf has +inf, as in torch."
    torch.testing.assert_close(logsumexp(INF_ROWS), torch.logsumexp(INF_ROWS, -1), equal_nan=True)
    torch.testing.assert_close(log_softmax(INF_ROWS), F.log_softmax(INF_ROWS, -1), equal_nan=True)
    assert logsumexp(INF_ROWS[:1]).item() == -inf and logsumexp(INF_ROWS[1:2]).item() == inf


def test_logsumexp_works_on_any_leading_shape():
    x = torch.randn(2, 3, 5)
    torch.testing.assert_close(logsumexp(x), x.logsumexp(-1))
    torch.testing.assert_close(log_softmax(x), x.log_softmax(-1))


@pytest.mark.parametrize('inp, targ, msg', [
    (torch.randn(4, 3), torch.tensor([0, 1, 2]), r'targets of shape \(4,\)'),
    (torch.randn(4, 3), torch.tensor([0., 1., 2., 0.]), 'int64'),
    (torch.randn(4, 3), torch.tensor([0, 1, 3, 0]), r'\[0, 3\)'),
    (torch.randn(4, 3), torch.tensor([0, -1, 2, 0]), r'\[0, 3\)'),
    (torch.randn(3), torch.tensor([0, 1, 2]), r'\(N, C\)'),
    (torch.randint(0, 3, (4, 3)), torch.tensor([0, 1, 2, 0]), r'floating point; got an int64 tensor of shape \(4, 3\)'),
    (torch.randn(0, 3), torch.zeros(0, dtype=torch.int64), r'N > 0, floating point; got a float32 tensor of shape \(0, 3\)'),
])
def test_losses_reject_bad_inputs(inp, targ, msg):
    with pytest.raises(ValueError, match=msg): cross_entropy(inp, targ)
    with pytest.raises(ValueError, match=msg): nll(inp, targ)


@settings(deadline=None, max_examples=30)
@given(logits_and_targets(max_c=5))
def test_cross_entropy_module_gradient_matches_autograd(xt):
    x, t = xt
    ce, xa = CrossEntropy(), x.clone().requires_grad_()
    loss = ce(x, t); ce.backward()
    F.cross_entropy(xa, t).backward()
    torch.testing.assert_close(loss, F.cross_entropy(x, t))
    torch.testing.assert_close(x.g, xa.grad)
    torch.testing.assert_close(x.g.sum(-1), torch.zeros(len(t)), atol=1e-6, rtol=0)   # rows of softmax - one-hot sum to 0


def test_cross_entropy_module_passes_finite_differences():
    torch.manual_seed(0)
    x, t = torch.randn(5, 4, dtype=f64), torch.tensor([0, 3, 1, 1, 2])
    ce = CrossEntropy(); ce(x, t); ce.backward()
    grad_check(lambda: ce(x, t), [x], [x.g])


# ------------------------------------------------------------------------------------------- accuracy
def test_accuracy():
    out = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    assert accuracy(out, torch.tensor([1, 0, 0, 1])).item() == 0.5
    assert accuracy(out, torch.tensor([1, 0, 1, 0])).item() == 1.0


@pytest.mark.parametrize('out, targ', [(torch.randn(4, 3), torch.tensor([0, 1])), (torch.randn(4), torch.tensor([0, 1, 0, 1]))])
def test_accuracy_rejects_bad_shapes(out, targ):
    with pytest.raises(ValueError, match='shape'): accuracy(out, targ)


@pytest.mark.parametrize('targ, named', [(torch.tensor([0., 1., 2., 1.]), 'int64 targets'),        # float labels: == would compare floats
                                         (torch.tensor([0, 1, 3, 1]), r'classes in \[0, 3\)'),    # a class the scores do not have
                                         (torch.tensor([0, -1, 2, 1]), r'classes in \[0, 3\)')])
def test_accuracy_rejects_targets_that_are_not_classes(targ, named):
    "Targets that are not classes of the scores: an error naming what was wrong, not an accuracy that counts nothing."
    with pytest.raises(ValueError, match=named): accuracy(torch.randn(4, 3), targ)


def test_evaluate_given_the_pair_x_y_says_it_wants_a_loader():
    x, y = torch.randn(6, 2), torch.tensor([0, 1, 2, 0, 1, 2])
    with pytest.raises(TypeError, match='a loader of'): evaluate(nn.Linear(2, 3), cross_entropy, (x, y))
    model = nn.Linear(2, 3)
    loss, acc = evaluate(model, cross_entropy, DataLoader(Dataset(x, y), 4))          # the loader it asks for works
    with torch.no_grad(): assert (loss, acc) == (pytest.approx(cross_entropy(model(x), y).item()), pytest.approx(accuracy(model(x), y).item()))


def test_evaluate_and_fit_given_a_dataset_say_they_want_a_loader():
    "A dataset in a loader's place used to fail inside the loop: 'len() of a 0-d tensor'."
    x, y = torch.randn(6, 2), torch.tensor([0, 1, 2, 0, 1, 2])
    model, ds = nn.Linear(2, 3), Dataset(x, y)
    class Batches(torch.utils.data.IterableDataset):            # an iterable dataset that yields batches is a loader
        def __iter__(self): yield x, y
    with torch.no_grad(): assert evaluate(model, cross_entropy, Batches())[1] == pytest.approx(accuracy(model(x), y).item())
    for bad in (ds, torch.utils.data.TensorDataset(x, y)):
        with pytest.raises(TypeError, match='dl must be a loader .* not a dataset'): evaluate(model, cross_entropy, bad)
        with pytest.raises(TypeError, match='train_dl must be a loader'): fit(1, model, F.cross_entropy, optim.SGD(model.parameters(), 0.1), bad, progress=False)
        with pytest.raises(TypeError, match='valid_dl must be a loader'):
            fit(1, model, F.cross_entropy, optim.SGD(model.parameters(), 0.1), DataLoader(ds, 4), bad, progress=False)


class ModeSpy(nn.Module):
    "A linear layer that records, at each call, whether it ran in training mode."
    def __init__(self): super().__init__(); self.lin, self.modes = nn.Linear(2, 3), []
    def forward(self, x): self.modes.append(self.training); return self.lin(x)

@pytest.mark.parametrize('training', [True, False])
def test_evaluate_runs_in_eval_mode_and_gives_the_mode_back(training):
    "evaluate used to run a model in whatever mode it was in: with dropout, two calls gave two different results."
    x, y = torch.randn(6, 2), torch.tensor([0, 1, 2, 0, 1, 2])
    model = ModeSpy().train(training)
    evaluate(model, cross_entropy, DataLoader(Dataset(x, y), 4))
    assert model.modes == [False, False] and model.training is training
    drop = nn.Sequential(nn.Dropout(0.5), nn.Linear(2, 3))
    dl = DataLoader(Dataset(x.repeat(50, 1), y.repeat(50)), 100)
    assert evaluate(drop, cross_entropy, dl) == evaluate(drop, cross_entropy, dl) and drop.training


@pytest.mark.parametrize('training', [True, False])
def test_fit_trains_in_training_mode_measures_in_eval_mode_and_gives_the_mode_back(training):
    "fit used to leave the model in evaluation mode after its last validation, whatever mode it came in."
    x, y = torch.randn(8, 2), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    model = ModeSpy().train(training)
    fit(2, model, F.cross_entropy, optim.SGD(model.parameters(), 0.1), DataLoader(Dataset(x, y), 4), DataLoader(Dataset(x, y), 8), progress=False)
    assert model.modes == [False] + [True, True, False] * 2 and model.training is training   # first: fit's check of valid_dl


def test_fit_asks_whether_the_optimiser_holds_this_models_parameters():
    "An optimiser built on another model's parameters sees no .grad: the message used to blame hand-written layers only."
    x, y = torch.randn(8, 2), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    model, other = nn.Linear(2, 3), nn.Linear(2, 3)
    with pytest.raises(ValueError, match="SGD found no .grad.*Were its parameters this model's"):
        fit(1, model, F.cross_entropy, optim.SGD(other.parameters(), 0.1), DataLoader(Dataset(x, y), 4), progress=False)


# ------------------------------------------------------------------------------------------- Layers
def test_layers_hand_backward_matches_autograd():
    torch.manual_seed(0)
    model = hand_mlp(6, 5, 3)
    ws = [p.clone().requires_grad_() for p in model.parameters()]
    x, t = torch.randn(7, 6), torch.randint(0, 3, (7,))
    ce = CrossEntropy(); loss = ce(model(x), t); ce.backward(); model.backward()
    F.cross_entropy((x @ ws[0] + ws[1]).relu() @ ws[2] + ws[3], t).backward()
    for p, w in zip(model.parameters(), ws): torch.testing.assert_close(p.g, w.grad)
    assert [tuple(p.shape) for p in model.parameters()] == [(6, 5), (5,), (5, 3), (3,)]
    assert 'Lin(n_in=6, n_out=5)' in repr(model)


def test_layers_rejects_a_layer_used_twice():
    "A hand-written layer keeps the input of its one call for backward: used twice, its gradients came out wrong, silently."
    lin, relu = Lin(torch.randn(3, 3), torch.zeros(3)), Relu()
    with pytest.raises(ValueError, match='the same layer twice'): Layers(lin, relu, lin)
    with pytest.raises(ValueError, match='the same layer twice'): Layers(relu, lin, relu)


# ------------------------------------------------------------------------------------------- Dataset
def test_dataset():
    x, y = torch.randn(10, 3), torch.arange(10)
    ds = Dataset(x, y)
    assert len(ds) == 10
    xi, yi = ds[3]
    assert torch.equal(xi, x[3]) and yi == 3
    xb, yb = ds[2:5]
    assert xb.shape == (3, 3) and torch.equal(yb, y[2:5])


def test_dataset_rejects_mismatched_labels():
    with pytest.raises(ValueError, match='10 inputs and 9 labels'): Dataset(torch.randn(10, 3), torch.arange(9))


def test_empty_dataset_is_allowed_but_not_loaded():
    ds = Dataset(torch.randn(0, 3), torch.zeros(0, dtype=torch.int64))
    assert len(ds) == 0
    with pytest.raises(ValueError, match='empty dataset'): DataLoader(ds, 4)


# ------------------------------------------------------------------------------------------- DataLoader
@settings(deadline=None, max_examples=40)
@given(n=st.integers(1, 50), bs=st.integers(1, 70), shuffle=st.booleans())
def test_dataloader_yields_every_item_once_in_batches(n, bs, shuffle):
    x, y = torch.arange(n).float()[:, None] * torch.ones(1, 2), torch.arange(n)
    dl = DataLoader(Dataset(x, y), bs, shuffle=shuffle)
    batches = list(dl)
    assert len(batches) == len(dl) == math.ceil(n / bs)
    assert all(len(yb) == bs for _, yb in batches[:-1]) and 1 <= len(batches[-1][1]) <= bs
    ys = torch.cat([yb for _, yb in batches])
    xs = torch.cat([xb for xb, _ in batches])
    assert torch.equal(ys.sort()[0], y)                   # every item exactly once
    assert torch.equal(xs[:, 0].long(), ys)               # inputs stay with their labels
    if not shuffle: assert torch.equal(ys, y)


def test_dataloader_gives_the_dataset_python_ints_as_pytorchs_loader_does():
    "A dataset that looks items up by key (a dict, file names) needs ints, not 0-d tensors."
    class Keyed:
        def __init__(self): self.items = {i: (torch.full((2,), float(i)), i) for i in range(5)}
        def __len__(self): return len(self.items)
        def __getitem__(self, i): return self.items[i]          # a KeyError for tensor(0)
    batches = list(DataLoader(Keyed(), 2, shuffle=True))
    assert sorted(torch.cat([yb for _, yb in batches]).tolist()) == list(range(5))
    dl = DataLoader(Keyed(), 2)
    dl.sampler = [[4, 0], [2]]                                  # a sampler of lists, as exercise 3's check accepts
    assert [yb.tolist() for _, yb in dl] == [[4, 0], [2]]
    dl.sampler = [torch.tensor([0.0, 2.7])]                     # a float index: refused, not truncated to item 2
    with pytest.raises(TypeError): list(dl)


def test_optimizer_of_another_model_says_so():
    opt = Optimizer(hand_mlp(3, 4, 2).parameters(), 0.1)
    model = hand_mlp(3, 4, 2)                                   # made again after its optimizer
    ce = CrossEntropy(); ce(model(torch.randn(5, 3)), torch.tensor([0, 1, 0, 1, 1])); ce.backward(); model.backward()
    with pytest.raises(RuntimeError, match='on the model whose parameters this optimizer holds'): opt.step()


def test_dataloader_batch_size_larger_than_data():
    dl = DataLoader(Dataset(torch.randn(5, 3), torch.arange(5)), bs=64, shuffle=True)
    assert len(dl) == 1
    (xb, yb), = list(dl)
    assert xb.shape == (5, 3) and sorted(yb.tolist()) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize('bs', [0, -1, 2.5, None])
def test_dataloader_rejects_bad_batch_size(bs):
    with pytest.raises(ValueError, match='an int, at least 1'): DataLoader(Dataset(torch.randn(5, 3), torch.arange(5)), bs)


def test_shuffle_is_seeded_and_new_each_pass():
    s = Sampler(100, 10, shuffle=True)
    torch.manual_seed(0); a, b = torch.cat(list(s)), torch.cat(list(s))
    torch.manual_seed(0); a2 = torch.cat(list(s))
    assert torch.equal(a, a2) and not torch.equal(a, b)


@pytest.mark.parametrize('bs', [True, False])
def test_dataloader_rejects_a_bool_batch_size(bs):
    with pytest.raises(ValueError, match='bs must be an int, at least 1, got (True|False)'): DataLoader(Dataset(torch.randn(5, 3), torch.arange(5)), bs)


@pytest.mark.parametrize('shuffle', ['no', 0, 1, None])
def test_dataloader_needs_shuffle_true_or_false(shuffle):
    "`shuffle='no'` is truthy: it used to shuffle."
    with pytest.raises(ValueError, match='shuffle must be True or False'): DataLoader(Dataset(torch.randn(5, 3), torch.arange(5)), 2, shuffle=shuffle)
    with pytest.raises(ValueError, match='shuffle must be True or False'): Sampler(5, 2, shuffle)


def test_collate():
    xb, yb = collate([(torch.tensor([1., 2.]), torch.tensor(0)), (torch.tensor([3., 4.]), torch.tensor(1))])
    assert torch.equal(xb, torch.tensor([[1., 2.], [3., 4.]])) and torch.equal(yb, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match='collate got an empty batch'): collate([])


def test_collate_names_what_is_not_a_pair_and_takes_plain_int_labels():
    x = torch.randn(6, 2)
    with pytest.raises(ValueError, match=r'collate needs \(x, y\) pairs'): next(iter(DataLoader(x, 4)))
    xb, yb = collate([(torch.ones(2), 1), (torch.zeros(2), 0)])
    assert torch.equal(yb, torch.tensor([1, 0])) and xb.shape == (2, 2)


def test_a_loader_over_numpy_arrays_gives_tensors():
    "Dataset(x.numpy(), y.numpy()) was accepted, then collate failed in torch.stack ('expected Tensor as element 0')."
    import numpy as np
    x, y = np.arange(12, dtype=np.float32).reshape(6, 2), np.array([0, 1, 2, 0, 1, 2])
    xb, yb = next(iter(DataLoader(Dataset(x, y), 4)))
    assert torch.equal(xb, torch.from_numpy(x[:4])) and torch.equal(yb, torch.tensor([0, 1, 2, 0]))
    xb, yb = collate([(np.ones(2), 1.5), (np.zeros(2), 2.5)])            # plain float labels stay floats
    assert xb.dtype == torch.float64 and torch.equal(yb, torch.tensor([1.5, 2.5]))


@pytest.mark.parametrize('n', [-3, 2.5, None, True])
def test_sampler_rejects_a_bad_number_of_items(n):
    with pytest.raises(ValueError, match=r'n \(the number of items\) must be an int, at least 0'): Sampler(n, 4)


# ------------------------------------------------------------------------------------------- Optimizer
def test_optimizer_steps_with_autograd_and_hand_gradients():
    p = torch.ones(3, requires_grad=True)
    opt = Optimizer([p], lr=0.5)
    (p * torch.tensor([1., 2., 3.])).sum().backward()
    opt.step()
    torch.testing.assert_close(p.detach(), torch.tensor([0.5, 0., -0.5]))
    opt.zero_grad()
    assert p.grad is None
    q = torch.ones(2); q.g = torch.tensor([2., -2.])
    opt = Optimizer([q], lr=0.25); opt.step()
    torch.testing.assert_close(q, torch.tensor([0.5, 1.5]))
    opt.zero_grad()
    assert not hasattr(q, 'g')
    with pytest.raises(RuntimeError, match='call backward before step'): opt.step()


def test_optimizer_matches_optim_sgd():
    torch.manual_seed(0)
    a, b = nn.Linear(4, 3), nn.Linear(4, 3)
    b.load_state_dict(a.state_dict())
    x, t = torch.randn(8, 4), torch.randint(0, 3, (8,))
    for model, opt in ((a, Optimizer(a.parameters(), 0.1)), (b, optim.SGD(b.parameters(), 0.1))):
        for _ in range(3):
            F.cross_entropy(model(x), t).backward(); opt.step(); opt.zero_grad()
    for p, q in zip(a.parameters(), b.parameters()): torch.testing.assert_close(p, q)


@pytest.mark.parametrize('lr', [-1, 0, 0., nan, inf, '0.1', None, True])
def test_optimizer_rejects_bad_arguments(lr):
    with pytest.raises(ValueError, match='no parameters'): Optimizer([])
    with pytest.raises(ValueError, match='lr must be a finite positive number'): Optimizer([torch.ones(2)], lr=lr)


# ------------------------------------------------------------------------------------------- fit
def blobs(n=400, seed=0):
    "Three well separated clusters in 2-D: a tiny problem any working training loop solves."
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    centres = torch.tensor([[3., 0.], [-3., 0.], [0., 3.]])
    return centres[y] + torch.randn(n, 2, generator=g) * 0.7, y


def test_fit_learns_with_hand_written_backward():
    torch.manual_seed(0)
    (x, y), (xv, yv) = blobs(), blobs(seed=1)
    model = hand_mlp(2, 16, 3)
    dl, vdl = DataLoader(Dataset(x, y), 16, shuffle=True), DataLoader(Dataset(xv, yv), 64)
    before = evaluate(model, CrossEntropy(), vdl)
    hist = fit(3, model, CrossEntropy(), Optimizer(model.parameters(), 0.1), dl, vdl, progress=False)
    assert len(hist['valid_acc']) == 3 and len(hist['batch_loss']) == 3 * len(dl)
    assert hist['valid_acc'][-1] > 0.95 and hist['valid_loss'][-1] < before[0] / 2
    assert not any(p.requires_grad for p in model.parameters())          # no autograd involved


def test_fit_refuses_a_pytorch_optimiser_on_hand_written_layers():
    "optim.SGD reads .grad, which hand-written layers never fill: the run used to train nothing, silently."
    torch.manual_seed(0)
    x, y = blobs()
    model = hand_mlp(2, 4, 3)
    before = [p.clone() for p in model.parameters()]
    with pytest.raises(ValueError, match='SGD found no .grad on any parameter'):
        fit(1, model, CrossEntropy(), optim.SGD(model.parameters(), lr=0.5), DataLoader(Dataset(x, y), 16), progress=False)
    for p, q in zip(model.parameters(), before): assert torch.equal(p, q)


def test_fit_names_a_loss_function_without_a_hand_written_backward():
    x, y = blobs()
    model = hand_mlp(2, 4, 3)
    with pytest.raises(TypeError, match="loss_func 'cross_entropy' has none"):
        fit(1, model, cross_entropy, Optimizer(model.parameters(), 0.1), DataLoader(Dataset(x, y), 16), progress=False)


def test_fit_learns_with_autograd_and_sets_the_learning_rate():
    torch.manual_seed(0)
    (x, y), (xv, yv) = blobs(), blobs(seed=1)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = optim.SGD(model.parameters(), 0.1)
    hist = fit(3, model, F.cross_entropy, opt, DataLoader(Dataset(x, y), 16, shuffle=True),
               DataLoader(Dataset(xv, yv), 64), sched=lambda e: [0.1, 0.1, 0.01][e], progress=False)
    assert hist['valid_acc'][-1] > 0.95
    assert hist['lr'] == [0.1, 0.1, 0.01] and opt.param_groups[0]['lr'] == 0.01


def test_fit_hand_and_autograd_agree():
    "The same weights, data and steps through `fit`, once by hand and once with autograd: the same result."
    torch.manual_seed(0)
    x, y = blobs(64)
    hand = hand_mlp(2, 8, 3)
    ws = [p.clone().requires_grad_() for p in hand.parameters()]
    auto = lambda inp: (inp @ ws[0] + ws[1]).relu() @ ws[2] + ws[3]
    dl = DataLoader(Dataset(x, y), 16)
    fit(2, hand, CrossEntropy(), Optimizer(hand.parameters(), 0.1), dl, progress=False)
    fit(2, auto, cross_entropy, Optimizer(ws, 0.1), dl, progress=False)
    for p, w in zip(hand.parameters(), ws): torch.testing.assert_close(p, w.detach())


def test_fit_checks_the_schedule_before_training():
    "A schedule's learning rate is checked as `Optimizer` checks its own, before the first step."
    torch.manual_seed(0)
    x, y = blobs(32)
    model = hand_mlp(2, 4, 3)
    before = [p.clone() for p in model.parameters()]
    for bad in (nan, inf, 0., -0.1, '0.1'):
        with pytest.raises(ValueError, match=r'sched\(1\), the learning rate of epoch 1, must be a finite positive number'):
            fit(2, model, CrossEntropy(), Optimizer(model.parameters(), 0.1), DataLoader(Dataset(x, y), 8),
                sched=lambda e: 0.1 if e == 0 else bad, progress=False)
    for p, q in zip(model.parameters(), before): assert torch.equal(p, q)          # no step was taken


@pytest.mark.parametrize('epochs', [0, -1, 2.0, True])
def test_fit_rejects_bad_epochs(epochs):
    x, y = blobs(16)
    model = hand_mlp(2, 4, 3)
    with pytest.raises(ValueError, match='epochs must be an int, at least 1'):
        fit(epochs, model, CrossEntropy(), Optimizer(model.parameters(), 0.1), DataLoader(Dataset(x, y), 8), progress=False)


def test_fit_and_evaluate_reject_an_empty_loader():
    model = hand_mlp(2, 4, 3)
    with pytest.raises(ValueError, match='evaluate got no batches'): evaluate(model, CrossEntropy(), [])
    with pytest.raises(ValueError, match='fit got no training batches'):
        fit(1, model, CrossEntropy(), Optimizer(model.parameters(), 0.1), [], progress=False)


def test_accuracy_rejects_an_empty_batch():
    with pytest.raises(ValueError, match='N > 0'): accuracy(torch.randn(0, 3), torch.zeros(0, dtype=torch.int64))


def test_evaluate_weights_batches_by_size():
    torch.manual_seed(0)
    x, y = blobs(10)
    model = nn.Linear(2, 3)
    loss, acc = evaluate(model, F.cross_entropy, DataLoader(Dataset(x, y), 4))     # batches of 4, 4, 2
    with torch.no_grad():
        torch.testing.assert_close(loss, F.cross_entropy(model(x), y).item())
        torch.testing.assert_close(acc, accuracy(model(x), y).item())


def test_backward_picks_autograd_or_hand():
    p = torch.ones(2, requires_grad=True)
    backward(None, None, (p * 3).sum())
    assert torch.equal(p.grad, torch.tensor([3., 3.]))
    called = []
    class Stub:
        def backward(self): called.append(self)
    m, lf = Stub(), Stub()
    backward(m, lf, torch.tensor(1.))
    assert called == [lf, m]


def test_train_mnist_small_run_is_reproducible():
    "`train_mnist` on a small slice of data (the full run is the notebook's): seeded, and learning."
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(600, 20, generator=g), torch.randint(0, 4, (600,), generator=g)
    x = x + torch.nn.functional.one_hot(y, 20).float()        # class k lights up pixel k
    data = (x[:500], y[:500], x[500:], y[500:])
    r1, r2 = (train_mnist(seed=3, nh=8, bs=16, epochs=3, data=data) for _ in range(2))
    assert r1.accuracy == r2.accuracy and r1.accuracy > 0.9
    for p, q in zip(r1.model.parameters(), r2.model.parameters()): assert torch.equal(p, q)
    assert r1.history['lr'] == [0.2, 0.2, 0.02] and r1.seconds > 0


def test_train_mnist_restores_the_number_of_threads():
    "`train_mnist(threads=...)` leaves the caller's number of threads as it was."
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(40, 5, generator=g), torch.randint(0, 2, (40,), generator=g)
    old = torch.get_num_threads()
    train_mnist(nh=4, bs=8, epochs=1, threads=2 if old == 1 else 1, data=(x[:32], y[:32], x[32:], y[32:]))
    assert torch.get_num_threads() == old


def tiny_data():
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(40, 5, generator=g), torch.randint(0, 2, (40,), generator=g)
    return x[:32], y[:32], x[32:], y[32:]


@pytest.mark.parametrize('kw, match', [
    (dict(lr=nan), 'lr must be'), (dict(lr=inf), 'lr must be'), (dict(lr=0), 'lr must be'), (dict(lr=-0.2), 'lr must be'),
    (dict(lr='0.2'), 'lr must be'), (dict(final_div=nan), 'final_div must be'), (dict(final_div=0), 'final_div must be'),
    (dict(final_div=inf), 'final_div must be'), (dict(final_div=-10), 'final_div must be'),
    (dict(epochs=0), 'epochs must be an int, at least 1'), (dict(epochs=2.0), 'epochs must be an int, at least 1'),
    (dict(bs=True), 'bs must be an int, at least 1'), (dict(nh=0), 'nh must be an int, at least 1'),
    (dict(seed=-1), 'seed must be an int from 0'), (dict(seed=2**64), 'seed must be an int from 0 to 2\\*\\*64 - 1'), (dict(seed=1.5), 'seed must be'), (dict(seed=None), 'seed must be'),
    (dict(seed='3'), 'seed must be'), (dict(threads=0), 'threads must be an int, at least 1'), (dict(progress='yes'), 'progress must be True or False'),
])
def test_train_mnist_checks_its_arguments_up_front(kw, match, monkeypatch):
    "Bad settings used to train to NaN weights (lr=inf, final_div=nan), fail in the last epoch (final_div=0) or after training (epochs=0)."
    import exp.nb_03 as nb03
    monkeypatch.setattr(nb03, 'fit', lambda *a, **k: pytest.fail('trained with a bad argument'))
    with pytest.raises(ValueError, match=match): train_mnist(data=tiny_data(), **kw)


@pytest.mark.parametrize('kw', [dict(seed=1.5), dict(threads=0), dict(progress='yes'), dict(lr=0)])
def test_train_mnist_checks_before_loading_the_data(kw, monkeypatch):
    "seed=1.5 used to run as seed 1, and seed=None, threads=0 failed only once the data was loaded and normalised."
    import exp.nb_03 as nb03
    monkeypatch.setattr(nb03, 'get_data', lambda *a, **k: pytest.fail('loaded the data with a bad argument'))
    with pytest.raises(ValueError): train_mnist(**kw)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the default where PyTorch sees no GPU")
def test_train_mnist_takes_a_device():
    "Without a GPU, `device='cpu'` is the default here and trains the same network bit for bit; a missing GPU is named."
    from exp.nb_03 import pick_device
    data = tiny_data()
    r1, r2 = (train_mnist(seed=1, nh=8, bs=16, epochs=1, data=data, device=d) for d in (None, 'cpu'))
    for p, q in zip(r1.model.parameters(), r2.model.parameters()): assert torch.equal(p, q)
    assert r2.model.parameters()[0].device.type == 'cpu'
    assert pick_device() == torch.device('cpu')
    with pytest.raises(ValueError, match="device 'cuda': PyTorch sees no CUDA GPU"): train_mnist(data=data, device='cuda')


def test_train_mnist_keeps_the_rate_for_a_single_epoch():
    "The rate drops in the last epoch only when there are several: one epoch used to run at lr / final_div throughout."
    assert train_mnist(nh=4, bs=8, epochs=1, data=tiny_data()).history['lr'] == [0.2]
    assert train_mnist(nh=4, bs=8, epochs=2, data=tiny_data()).history['lr'] == [0.2, 0.02]


@pytest.mark.parametrize('data', [tiny_data()[:2], tiny_data() + (None, None), [t.numpy() for t in tiny_data()]])
def test_train_mnist_names_bad_data(data):
    with pytest.raises(ValueError, match=r'data must be \(x_train, y_train, x_valid, y_valid\)'): train_mnist(data=data)


_xt, _yt, _xv, _yv = tiny_data()
@pytest.mark.parametrize('data, match', [
    ((_xt.mul(255).byte(), _yt, _xv, _yv), 'x_train must be 2-D float32'), ((_xt, _yt, _xv.double(), _yv), 'x_valid must be 2-D float32'), ((_xt, _yt, _xv[:, :3], _yv), 'as many columns'),
    ((_xt, _yt.float(), _xv, _yv), 'y_train must be 32 int64 labels'), ((_xt, _yt, _xv, _yv[:5]), 'y_valid must be 8 int64 labels'),
    ((_xt.flatten(), _yt, _xv, _yv), 'x_train must be 2-D'),
])
def test_train_mnist_names_what_is_wrong_with_the_data_before_training(data, match, monkeypatch):
    "Raw uint8 pixels used to fail in PyTorch's mean(); a narrower x_valid only after the first epoch."
    import exp.nb_03 as nb03
    monkeypatch.setattr(nb03, 'fit', lambda *a, **k: pytest.fail('trained on bad data'))
    with pytest.raises(ValueError, match=match): train_mnist(data=data)


def test_train_result_prints_short():
    "Its history holds a loss for every batch: the namedtuple's repr printed thousands of characters."
    r = train_mnist(nh=4, bs=8, epochs=2, data=tiny_data())
    assert len(repr(r)) < 200 and f'{r.accuracy:.2%}' in repr(r) and 'batch_loss' in repr(r)
    acc, model, history, seconds = r                       # still a tuple
    assert acc == r.accuracy and len(history['batch_loss']) == 8


def test_pick_device_takes_an_index_and_names_a_missing_apple_gpu():
    from exp.nb_03 import pick_device
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match='device 0: '): pick_device(0)     # 0 is the first GPU, not "the default"
    if not torch.backends.mps.is_available():
        with pytest.raises(ValueError, match="device 'mps': PyTorch sees no Apple GPU"): pick_device('mps')


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message where PyTorch sees no GPU")
def test_hand_mlp_names_a_missing_gpu():
    "It used to fail in torch with 'Torch not compiled with CUDA enabled'."
    with pytest.raises(ValueError, match="device 'cuda': PyTorch sees no CUDA GPU"): hand_mlp(3, 4, 2, device='cuda')


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message where PyTorch sees no GPU")
def test_fit_and_evaluate_name_a_missing_gpu():
    "They used to fail in torch with 'Torch not compiled with CUDA enabled', after building the model."
    model = hand_mlp(3, 4, 2)
    dl = DataLoader(Dataset(torch.randn(8, 3), torch.randint(0, 2, (8,))), 4)
    with pytest.raises(ValueError, match="device 'cuda': PyTorch sees no CUDA GPU"): evaluate(model, CrossEntropy(), dl, device='cuda')
    with pytest.raises(ValueError, match="device 'cuda': PyTorch sees no CUDA GPU"):
        fit(1, model, CrossEntropy(), Optimizer(model.parameters(), 0.1), dl, progress=False, device='cuda')


def test_train_mnist_counts_the_classes_of_both_sets():
    "A class only y_valid has used to fail after training, in accuracy, without naming y_valid."
    xt, yt, xv, yv = tiny_data()
    yt, yv = yt % 3, yv.clone()
    yv[0] = 3
    r = train_mnist(nh=4, bs=8, epochs=1, data=(xt, yt, xv, yv))
    assert r.model.layers[-1].w.shape[1] == 4


def test_optimizer_names_a_model_or_non_tensors_given_for_parameters():
    model = hand_mlp(3, 4, 2)
    with pytest.raises(TypeError, match=r'not the model: Optimizer\(model.parameters\(\), lr\)'): Optimizer(model)
    with pytest.raises(TypeError, match=r'not the model'): Optimizer(torch.nn.Linear(2, 3))
    with pytest.raises(TypeError, match='takes tensors to optimise'): Optimizer([1, 2])


def test_optimizer_refuses_a_parameter_given_twice():
    "Optimizer([w, w]) moved w twice per step; optim.SGD warns of duplicates."
    w, v = torch.zeros(2), torch.zeros(2)
    with pytest.raises(ValueError, match='the same parameter twice'): Optimizer([w, v, w], 0.1)
    Optimizer([w, v, w.clone()], 0.1)                        # equal values, different tensors: fine


def test_sizes_may_be_numpy_integers():
    import numpy as np
    assert [b.tolist() for b in Sampler(np.int64(7), np.int64(3))] == [b.tolist() for b in Sampler(7, 3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(DataLoader(Dataset(torch.randn(5, 3), torch.arange(5)), np.int32(2))) == 3
    assert [len(b) for b in Sampler(np.uint8(250), np.uint8(200))] == [200, 50]   # as ints: uint8 arithmetic would wrap around
    assert len(Sampler(np.uint32(7), 3)) == 3


def test_dataloader_puts_batches_together_with_its_collate_fn():
    assert list(DataLoader(Dataset(torch.randn(6, 2), torch.arange(6)), 4, collate_fn=len)) == [4, 2]


def test_fit_weighs_each_batch_loss_by_its_size():
    "10 items in batches of 4, 4 and 2: the epoch's loss is the mean over items, not over batches."
    torch.manual_seed(0)
    x, y = torch.randn(10, 2), torch.randint(0, 3, (10,))
    model = nn.Linear(2, 3)
    hist = fit(1, model, cross_entropy, Optimizer(model.parameters(), 0.1), DataLoader(Dataset(x, y), 4), progress=False)
    bl = hist['batch_loss']
    assert len(bl) == 3 and hist['train_loss'][0] == pytest.approx((4 * bl[0] + 4 * bl[1] + 2 * bl[2]) / 10)


def test_train_mnist_normalises_both_sets_with_the_training_statistics_and_shuffles(monkeypatch):
    import exp.nb_03 as nb03
    seen = {}
    def fake_fit(epochs, model, loss_func, opt, train_dl, valid_dl, *rest):
        seen.update(train=train_dl, valid=valid_dl); return dict(valid_acc=[0.5])
    monkeypatch.setattr(nb03, 'fit', fake_fit)
    g = torch.Generator().manual_seed(0)
    xt, xv = torch.rand(20, 4, generator=g) * 3 + 1, torch.rand(10, 4, generator=g)
    train_mnist(epochs=1, bs=4, data=(xt, torch.randint(0, 3, (20,), generator=g), xv, torch.randint(0, 3, (10,), generator=g)))
    torch.testing.assert_close(next(iter(seen['valid']))[0], ((xv - xt.mean()) / xt.std())[:8])   # batches of bs * 2
    assert seen['train'].sampler.shuffle and not seen['valid'].sampler.shuffle


def test_fit_says_at_the_first_batch_that_accuracy_needs_classes():
    "A regression model used to train for a whole epoch, then fail in accuracy; without valid_dl it trains."
    from exp.nb_02 import Mse
    x, y = torch.randn(12, 3), torch.randn(12)
    model, steps = nn.Linear(3, 1), []
    opt = Optimizer(list(model.parameters()), 0.01)
    real_step = opt.step
    opt.step = lambda: steps.append(1) or real_step()
    dl = DataLoader(Dataset(x, y), 4)
    with pytest.raises(ValueError, match="valid_dl's first batch .* got a float32 tensor of shape \\(4,\\). For a regression, leave valid_dl out"):
        fit(1, model, Mse(), opt, dl, dl, progress=False)
    assert steps == []                                           # before any step
    assert len(fit(2, model, Mse(), opt, dl, progress=False)['train_loss']) == 2


@pytest.mark.parametrize('targets', ['uint8', 'one-hot'])
def test_fit_refuses_validation_targets_accuracy_cannot_read_before_training(targets):
    "uint8 labels (as read_idx gives them) or one-hot rows: F.cross_entropy trains on both, but accuracy refuses them, which used to end an epoch of training."
    torch.manual_seed(0)
    x, classes = torch.randn(12, 3), torch.randint(0, 4, (12,))
    yv = classes.to(torch.uint8) if targets == 'uint8' else F.one_hot(classes, 4).float()
    model, steps = nn.Linear(3, 4), []
    opt = Optimizer(list(model.parameters()), 0.1)
    real_step = opt.step
    opt.step = lambda: steps.append(1) or real_step()
    with pytest.raises(ValueError, match="valid_dl's first batch does not suit that: expected int64 targets of shape \\(6,\\)"):
        fit(1, model, F.cross_entropy, opt, DataLoader(Dataset(x, classes), 4), DataLoader(Dataset(x, yv), 6), progress=False)
    assert steps == []


def test_fit_checks_validation_without_touching_the_random_numbers_or_a_one_pass_loader():
    "Peeking at a shuffled valid_dl must not change the training's shuffle; a generator's first batch must stay for evaluate."
    x, y = torch.randn(12, 3), torch.randint(0, 4, (12,))
    def run(valid):
        torch.manual_seed(0)
        model = nn.Linear(3, 4)
        fit(1, model, F.cross_entropy, Optimizer(list(model.parameters()), 0.1), DataLoader(Dataset(x, y), 4, shuffle=True), valid, progress=False)
        return model.weight.detach().clone()
    torch.testing.assert_close(run(DataLoader(Dataset(x, y), 6, shuffle=True)), run(DataLoader(Dataset(x, y), 6)), rtol=0, atol=0)
    td = torch.utils.data                                   # PyTorch's DataLoader draws a seed at each iter(), shuffled or not
    torch.testing.assert_close(run(td.DataLoader(td.TensorDataset(x, y), 6)), run(DataLoader(Dataset(x, y), 6)), rtol=0, atol=0)
    torch.manual_seed(0)
    model = nn.Linear(3, 4)
    batches = ((x[i:i+6], y[i:i+6]) for i in (0, 6))
    hist = fit(1, model, F.cross_entropy, Optimizer(list(model.parameters()), 0.1), DataLoader(Dataset(x, y), 4), batches, progress=False)
    with torch.no_grad(): expected = F.cross_entropy(model(x), y).item()
    assert hist['valid_loss'] == [pytest.approx(expected)]        # both batches measured


def test_fit_takes_soft_targets_for_training_and_classes_for_validation():
    "Label smoothing or mixup trains on a probability per class, (N, C); accuracy still reads valid_dl's classes."
    torch.manual_seed(0)
    x, classes = torch.randn(12, 3), torch.randint(0, 4, (12,))
    soft = F.one_hot(classes, 4).float() * 0.9 + 0.025                      # smoothed: each row sums to 1
    model = nn.Linear(3, 4)
    hist = fit(1, model, F.cross_entropy, Optimizer(list(model.parameters()), 0.1), DataLoader(Dataset(x, soft), 4),
               DataLoader(Dataset(x, classes), 6), progress=False)
    assert len(hist['valid_acc']) == 1


def test_optimizer_and_dataloader_name_a_tensor_or_a_pair_given_for_a_list_or_a_dataset():
    "list() would split one tensor into its rows, and len((x, y)) is 2 items: both are refused, with what to pass."
    w = torch.randn(3, requires_grad=True)
    with pytest.raises(TypeError, match=r'a list of parameters: for one tensor w, Optimizer\(\[w\], lr\)'): Optimizer(w)
    x, y = torch.randn(10, 5), torch.arange(10)
    with pytest.raises(TypeError, match=r'not the pair \(x, y\) itself: wrap it, DataLoader\(Dataset\(x, y\), bs\)'): DataLoader((x, y), 2)
    assert len(DataLoader([(x[0], y[0]), (x[1], y[1]), (x[2], y[2])], 2)) == 2     # a list of (x, y) items is a dataset


def test_fit_and_evaluate_want_a_mean_loss_and_a_true_or_false_progress():
    x, y = torch.randn(8, 2), torch.arange(8) % 3
    dl, model = DataLoader(Dataset(x, y), 4), nn.Linear(2, 3)
    summed = nn.CrossEntropyLoss(reduction='sum')
    with pytest.raises(ValueError, match=r"the batch's mean \(reduction='mean'\), not reduction='sum'"): evaluate(model, summed, dl)
    with pytest.raises(ValueError, match=r"not reduction='sum'"): fit(1, model, summed, Optimizer(model.parameters(), 0.1), dl)
    with pytest.raises(ValueError, match="progress must be True or False, got 'no'"):
        fit(1, model, cross_entropy, Optimizer(model.parameters(), 0.1), dl, progress='no')
    assert evaluate(model, nn.CrossEntropyLoss(), dl)[0] == pytest.approx(evaluate(model, cross_entropy, dl)[0])
    from exp.nb_03 import _check_reduction
    for mean in (nn.KLDivLoss(reduction='batchmean'), nn.MSELoss(), cross_entropy): _check_reduction(mean)   # batchmean: a batch mean too
    with pytest.raises(ValueError, match="not reduction='none'"): _check_reduction(nn.MSELoss(reduction='none'))
    for ok in (np.True_, np.False_):
        fit(1, model, cross_entropy, Optimizer(model.parameters(), 0.1), dl, progress=ok)    # a NumPy bool is a bool
