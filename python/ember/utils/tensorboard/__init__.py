"""TensorBoard event files written in pure Python, as torch.utils.tensorboard.

    from ember.utils.tensorboard import SummaryWriter
    with SummaryWriter("runs/exp1") as writer:
        writer.add_scalar("loss", loss.item(), step)

The files are TFRecord files of `Event` protocol buffers, encoded by hand (no
tensorboard or protobuf package needed), and read by TensorBoard as torch's.
"""

from .writer import FileWriter, SummaryWriter

__all__ = ["FileWriter", "SummaryWriter"]
