"The checks of notebook 03's exercises reject typical wrong answers, each with a message that says what is wrong."
import pytest, torch
import torch.nn.functional as F

from exercise_checks import accepts, cases, checks, covered, rejects, right_cases
from exp.nb_03 import DataLoader, Dataset, Sampler, logsumexp, nll

EX = checks('03_minibatch_training')


class LenNotChanged(Sampler):          # drops the short batch, but len still counts it
    def __iter__(self):
        for idxs in super().__iter__():
            if len(idxs) == self.bs: yield idxs

class IterNotChanged(Sampler):         # len is right, the short batch still comes
    def __len__(self): return self.n // self.bs

class DropsBeforeShuffling(Sampler):   # always leaves out the same last items
    def __iter__(self):
        k = self.n // self.bs * self.bs
        idxs = torch.randperm(k) if self.shuffle else torch.arange(k)
        for i in range(0, k, self.bs): yield idxs[i:i+self.bs]
    def __len__(self): return self.n // self.bs

class OffByOne(Sampler):               # loses a full batch when bs divides n
    def __iter__(self):
        idxs = torch.randperm(self.n) if self.shuffle else torch.arange(self.n)
        for i in range(0, self.n - self.bs, self.bs): yield idxs[i:i+self.bs]
    def __len__(self): return self.n // self.bs


class LenDivides(LenNotChanged):       # `/` where `//` is meant: a float
    def __len__(self): return self.n / self.bs

class IterReturnsList(Sampler):        # the batches returned as a list: not an iterator
    def __iter__(self): return [b for b in super().__iter__() if len(b) == self.bs]
    def __len__(self): return self.n // self.bs


class ItemByItem(DataLoader): pass     # DataLoader's own __iter__: one ds[i] per item, then collate

class IgnoresSampler(DataLoader):
    def __iter__(self):
        for i in range(0, len(self.ds), self.bs): yield self.ds[i:i+self.bs]

class InputsOnly(DataLoader):
    def __iter__(self):
        for idxs in self.sampler: yield self.ds.x[idxs]

class TargetsFirst(DataLoader):
    def __iter__(self):
        for idxs in self.sampler: yield self.ds.y[idxs],self.ds.x[idxs]


def softmax_first(model, loss_func, opt, batches):      # the bug, left in
    for xb, yb in batches:
        loss_func(torch.softmax(model(xb), -1), yb).backward(); opt.step(); opt.zero_grad()

def no_zero_grad(model, loss_func, opt, batches):       # the bug fixed, zero_grad dropped
    for xb, yb in batches:
        loss_func(model(xb), yb).backward(); opt.step()

def zero_grad_once(model, loss_func, opt, batches):
    opt.zero_grad()
    for xb, yb in batches:
        loss_func(model(xb), yb).backward(); opt.step()

def zero_grad_before_step(model, loss_func, opt, batches):
    for xb, yb in batches:
        loss_func(model(xb), yb).backward(); opt.zero_grad(); opt.step()

def last_batch_only(model, loss_func, opt, batches):
    for xb, yb in batches: loss = loss_func(model(xb), yb)
    loss.backward(); opt.step(); opt.zero_grad()


def mse_loop(divide):
    "The loop of exercise 7 with the summed squared error divided by `divide(batches, xb)`."
    def train(model, opt, batches):
        for xb, yb in batches:
            (((model(xb).squeeze(-1) - yb) ** 2).sum() / divide(batches, xb)).backward(); opt.step(); opt.zero_grad()
    return train


def shuffled_once(train_ds, valid_ds, bs):
    perm = torch.randperm(len(train_ds))
    return DataLoader(Dataset(*train_ds[perm]), bs), DataLoader(valid_ds, bs)


WRONG = {
    'ex1': [(lambda x, y: -(y * torch.sigmoid(x).log() + (1 - y) * (1 - torch.sigmoid(x)).log()).mean(), 'sigmoid(1000) rounds to exactly 1'),
            (lambda x, y: (y * -logsumexp(torch.stack([0 * x, -x], -1)) + (1 - y) * -logsumexp(torch.stack([0 * x, x], -1))).mean(), 'the sign is wrong'),
            (lambda x, y: -(y * -logsumexp(torch.stack([0 * x, -x], -1)) + (1 - y) * -logsumexp(torch.stack([0 * x, x], -1))).sum(), '8 times the loss'),
            (lambda x, y: -(y * -logsumexp(torch.stack([0 * x, -x], -1)) + (1 - y) * -logsumexp(torch.stack([0 * x, -x], -1))).mean(), 'where 1.5312 was expected'),   # 1 - σ(x) taken as σ(x)
            (lambda x, y: F.binary_cross_entropy_with_logits(x, y), 'correct, but without `logsumexp`')],
    'ex2': [(lambda logp, targ: (F.one_hot(targ, logp.shape[1]) * logp).sum(-1).mean(), 'the sign is wrong'),
            (lambda logp, targ: -(F.one_hot(targ, logp.shape[1]) * logp).sum(), '6 times the expected'),
            (lambda logp, targ: -(F.one_hot(targ) * logp).sum(-1).mean(), 'F.one_hot(targ) alone makes targ.max() + 1 (here 4)'),
            (lambda logp, targ: -(F.one_hot(targ, 10) * logp).sum(-1).mean(), 'needs logp.shape[1] columns, here 5'),
            (lambda logp, targ: -(F.one_hot(targ, 5) * logp).sum(-1).mean(), 'needs logp.shape[1] columns, here 7'),   # fits the first case only
            (lambda logp, targ: -(F.one_hot(targ, logp.shape[1]) * logp).mean(), 'a mean over all 6 x 5 entries'),
            (lambda logp, targ: -(F.one_hot(targ, logp.shape[1]) * logp).sum(-1), 'has shape (6,), expected ()'),
            (lambda logp, targ: nll(logp, targ), 'correct, but without a one-hot matrix'),
            (lambda logp, targ: (F.one_hot(targ, logp.shape[1]), -logp[range(len(targ)), targ].mean())[1], 'from logp by indexing'),   # made, unused
            (lambda logp, targ: (F.one_hot(targ, logp.shape[1]), -logp.gather(1, targ[:, None]).mean())[1], 'from logp by gather')],
    'ex3': [(LenNotChanged, 'len(DropLastSampler(10, 4)) is 3, expected 2'),
            (IterNotChanged, 'DropLastSampler(10, 4) yields batches of sizes [4, 4, 2]'),
            (DropsBeforeShuffling, 'items [8, 9] never appear'),
            (OffByOne, 'DropLastSampler(12, 4) yields 2 batches, expected 3'),
            (LenDivides, '__len__ must return an int'),
            (IterReturnsList, '__iter__ yields the batches one by one')],
    'ex4': [(lambda: ['shrinks', 'shrinks', 'shrinks', 'blows up'], "lr = 0.6: you predicted 'shrinks', but it zigzags"),
            (lambda: ['shrinks', 'zigzags', 'zigzags', 'blows up'], "lr = 0.4: you predicted 'zigzags', but it shrinks"),
            (lambda: ['shrinks', 'shrinks', 'zigzags', 'zigzags'], "lr = 1.1: you predicted 'zigzags', but it blows up: w goes 1, -1.2, 1.44"),
            (lambda: 'blows up', 'give a list of 4 predictions')],
    'ex5': [(ItemByItem, 'fetches the items one at a time'),
            (IgnoresSampler, 'it ignores the shuffle: take the indices from self.sampler'),
            (InputsOnly, 'should be a pair (xb, yb), but is a float32 tensor of shape (5, 3)'),
            (TargetsFirst, 'batch 0 is (yb, xb), the targets first')],
    'ex6': [(softmax_first, 'these are the weights the buggy loop gives: the bug is still there'),
            (no_zero_grad, 'the gradients of earlier batches were not cleared?'),
            (zero_grad_once, 'the gradients of earlier batches were not cleared?'),
            (zero_grad_before_step, 'opt.step() found no gradient'),
            (last_batch_only, 'the weights differ from a correct loop\'s: model.weight:')],
    'ex7': [(mse_loop(lambda batches, xb: 1), 'the loss is summed over the batch, not averaged'),
            (mse_loop(lambda batches, xb: len(batches[0][0])), 'divided by a fixed batch size rather than each batch\'s own'),
            (mse_loop(lambda batches, xb: len(batches)), 'batches of 6, 6, 6), the weights differ from a correct loop\'s: model.weight:')],
    'ex8': [(lambda tr, va, bs: (DataLoader(tr, bs), DataLoader(va, bs * 2, shuffle=True)), 'the training loader gives the items in order'),
            (lambda tr, va, bs: (DataLoader(tr, bs, shuffle=True), DataLoader(va, bs * 2, shuffle=True)), 'the validation loader shuffles'),
            (shuffled_once, 'the same shuffled order on every pass'),
            (lambda tr, va, bs: DataLoader(tr, bs, shuffle=True), 'should return two loaders, (train_dl, valid_dl)'),
            (lambda tr, va, bs: (DataLoader(tr, 2 * bs, shuffle=True), DataLoader(va, bs)), 'expected 4 items each, but the last'),
            (lambda tr, va, bs: (DataLoader(tr, 64, shuffle=True), DataLoader(va, 128)), 'gives batches of sizes [23]'),
            (lambda tr, va, bs: (DataLoader(tr, bs, shuffle=True), va), 'the validation loader must be a loader of (xb, yb) batches, not a dataset')],
}


@pytest.mark.parametrize('name,answer,msg', cases(WRONG))
def test_wrong_answers_rejected(name, answer, msg): rejects(EX[name], answer, msg)

def test_every_exercise_has_wrong_answers(): covered(EX, WRONG)


def test_mean_loss_names_the_broadcast_of_predictions_against_targets():
    def train_mse(model, opt, batches):
        for xb, yb in batches:
            loss = ((model(xb) - yb) ** 2).mean()      # (N, 1) - (N,): an (N, N) table
            loss.backward(); opt.step(); opt.zero_grad()
    rejects(EX['ex7'], train_mse, 'their difference broadcasts to (N, N)')


def zero_grad_first(model, loss_func, opt, batches):
    for xb, yb in batches:
        opt.zero_grad()
        loss_func(model(xb), yb).backward()
        opt.step()

def log_softmax_first(model, loss_func, opt, batches):  # right: log_softmax of log-probabilities changes nothing
    for xb, yb in batches:
        loss_func(torch.log_softmax(model(xb), -1), yb).backward(); opt.step(); opt.zero_grad()

def with_torch_sgd(model, loss_func, opt, batches):
    sgd = torch.optim.SGD(model.parameters(), lr=opt.lr)
    for xb, yb in batches:
        loss_func(model(xb), yb).backward()
        sgd.step(); sgd.zero_grad()

def mse_divided_by_len(model, opt, batches):
    for xb, yb in batches:
        (((model(xb).squeeze(-1) - yb) ** 2).sum() / len(yb)).backward()
        opt.step(); opt.zero_grad()

def mse_loss_unsqueezed(model, opt, batches):
    for xb, yb in batches:
        F.mse_loss(model(xb), yb[:, None]).backward()
        opt.step(); opt.zero_grad()

class SamplerFiltered(Sampler):
    def __iter__(self): return (b for b in super().__iter__() if len(b) == self.bs)
    def __len__(self): return len(range(0, self.n - self.bs + 1, self.bs))

def log_sigmoid(x):                        # a helper of the learner's own: the check follows it to logsumexp
    return -logsumexp(torch.stack([torch.zeros_like(x), -x], -1))

def bce_with_helper(x, y):
    return -(y * log_sigmoid(x) + (1 - y) * log_sigmoid(-x)).mean()

RIGHT = {'ex1': [bce_with_helper, lambda x, y: (x - x * y + logsumexp(torch.stack([torch.zeros_like(x), -x], -1))).mean()],   # the same, folded
         'ex2': [lambda logp, targ: -(torch.eye(logp.shape[1])[targ] * logp).sum(1).mean(),
                 lambda logp, targ: -(F.one_hot(targ, num_classes=logp.size(-1)) * logp).sum(-1).mean(),
                 lambda logp, targ: -logp[F.one_hot(targ, logp.shape[1]).bool()].mean()],   # the one-hot matrix as a mask
         'ex3': [SamplerFiltered],
         'ex4': [lambda: ('shrinks', 'shrinks', 'zigzags', 'blows up')],
         'ex6': [zero_grad_first, with_torch_sgd, log_softmax_first],
         'ex7': [mse_divided_by_len, mse_loss_unsqueezed],
         'ex8': [lambda tr, va, bs: [DataLoader(tr, bs, shuffle=True), DataLoader(va, len(va))]]}


@pytest.mark.parametrize('name,answer', right_cases(RIGHT))
def test_other_right_answers_accepted(name, answer): accepts(EX[name], answer)
