// Storage: shared-memory moves (Note [Shared memory]).

#include "ember/storage.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace ember {
namespace {

TEST(Storage, MoveToSharedMemoryKeepsTheBytesAndIsIdempotent) {
  auto storage = Storage::allocate(64);
  std::memset(storage->data(), 7, 64);
  EXPECT_FALSE(storage->is_shared());
  storage->move_to_shared_memory();
  const void* first = storage->data();
  storage->move_to_shared_memory();
  EXPECT_TRUE(storage->is_shared());
  EXPECT_EQ(storage->data(), first);
  for (int i = 0; i < 64; ++i) EXPECT_EQ(static_cast<unsigned char*>(storage->data())[i], 7);
}

TEST(Storage, ForkedChildWritesAreSeenByTheParent) {
  auto storage = Storage::allocate(sizeof(int));
  *static_cast<int*>(storage->data()) = 1;
  storage->move_to_shared_memory();
  const pid_t pid = fork();
  if (pid == 0) {
    *static_cast<int*>(storage->data()) = 42;
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_EQ(*static_cast<int*>(storage->data()), 42);
}

TEST(Storage, EmptyAndInlineBuffersMoveToo) {
  auto empty = Storage::allocate(0);
  empty->move_to_shared_memory();
  EXPECT_TRUE(empty->is_shared());
  auto small = Storage::allocate(8);
  std::memset(small->data(), 3, 8);
  small->move_to_shared_memory();
  EXPECT_EQ(static_cast<unsigned char*>(small->data())[7], 3);
}

}  // namespace
}  // namespace ember
