"""Data-parallel training of a digits classifier with DistributedDataParallel.

    pip install ".[distributed]"                # mpi4py and MPICH (mpiexec)
    mpiexec -n 2 python examples/ddp_digits.py  # 2 processes on this machine
    python examples/ddp_digits.py               # the same script, one process

Each rank trains on its shard of every batch (DistributedSampler); DDP averages the
gradients, so every rank takes the step one process would take on the whole batch.
`--check` has rank 0 also train a copy of the model in-process on the whole batches
and print whether it ends with the same parameters (it does, to float32 rounding).

The digits are 8x8 images drawn from a 5x7 font at random offsets with noise
(digits.py; no download): ten classes, 1200 samples.
"""

import argparse
import time

import ember
import ember.distributed as dist
import ember.nn as nn
import ember.nn.functional as F
from digits import digit_images
from ember.nn.parallel import DistributedDataParallel as DDP
from ember.utils.data import DataLoader, TensorDataset
from ember.utils.data.distributed import DistributedSampler


def make_digits(n, seed=0):
    """n noisy digit images (digits.py), flattened to 64 floats, and their labels."""
    images, labels = digit_images(n, seed)
    return ember.from_numpy(images.reshape(n, 64)), ember.from_numpy(labels)


def make_model():
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64, help="global batch, split over ranks")
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--check", action="store_true", help="compare with one process")
    args = parser.parse_args()

    dist.init_process_group(backend="mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    if args.batch_size % world:
        raise SystemExit(f"--batch-size {args.batch_size} must split evenly over {world} ranks")
    per_rank = args.batch_size // world

    x, y = make_digits(1200)
    data = TensorDataset(x, y)
    sampler = DistributedSampler(data, num_replicas=world, rank=rank, shuffle=True, seed=0)
    loader = DataLoader(data, batch_size=per_rank, sampler=sampler, drop_last=True)

    model = DDP(make_model())  # rank 0's initial weights go to every rank
    opt = ember.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)

    reference = make_model() if args.check and rank == 0 else None
    ref_opt = (
        ember.optim.SGD(reference.parameters(), lr=args.lr, momentum=0.9) if reference else None
    )

    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        start, total, steps = time.perf_counter(), ember.zeros(()), 0
        if reference is not None:
            # every rank's sampler for this epoch: step k's whole batch is their k-th batches
            shards = []
            for r in range(world):
                s = DistributedSampler(data, num_replicas=world, rank=r, shuffle=True, seed=0)
                s.set_epoch(epoch)
                shards.append(list(s))
            ref_total = 0.0
        for step, (xb, yb) in enumerate(loader):
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()  # gradients averaged over the ranks when this returns
            opt.step()
            total += loss.detach()
            steps += 1
            if reference is not None:
                idx = [
                    i
                    for r in range(world)
                    for i in shards[r][step * per_rank : (step + 1) * per_rank]
                ]
                ref_opt.zero_grad()
                ref_loss = F.cross_entropy(reference(x[idx]), y[idx])
                ref_loss.backward()
                ref_opt.step()
                ref_total += ref_loss.item()
        dist.all_reduce(total, op=dist.ReduceOp.AVG)  # the mean loss over all ranks' shards
        if rank == 0:
            seconds = time.perf_counter() - start
            ranks = f"{world} rank{'s' if world > 1 else ''}"
            print(
                f"epoch {epoch + 1}: loss {total.item() / steps:.6f} "
                f"({ranks} x {per_rank} samples per step, {seconds:.2f} s)"
            )
            if reference is not None:
                print(f"         one process, whole batches: loss {ref_total / steps:.6f}")

    if reference is not None:
        diff = max(
            (a - b).abs().max().item()
            for a, b in zip(model.module.parameters(), reference.parameters())
        )
        print(f"largest parameter difference {diff:.2e}; same as one process: {diff < 1e-4}")
    with ember.no_grad():
        accuracy = (model(x).argmax(1) == y).float().mean().item()
    if rank == 0:
        print(f"training accuracy {accuracy:.3f}")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
