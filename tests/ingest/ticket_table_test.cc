#include "ingest/ticket_table.h"

#include <gtest/gtest.h>

#include "ingest/partition_progress.h"

namespace tidewatch::ingest {
namespace {

TEST(TicketTableTest, TicketsAreDoneWhenEveryPointCompletes) {
  TicketTable table(3, 4);
  const Ticket t = *table.Take(3);
  EXPECT_EQ(TicketTableIndex(t), 3u);
  EXPECT_FALSE(table.Done(t));
  table.Complete(t, 2);
  EXPECT_FALSE(table.Done(t));
  table.Complete(t);
  EXPECT_TRUE(table.Done(t));
  EXPECT_TRUE(table.Done(*table.Take(0)));  // a message with no points is done at once
}

TEST(TicketTableTest, AFullTableRefusesUntilReleased) {
  TicketTable table(1, 2);
  const Ticket a = *table.Take(0);
  const Ticket b = *table.Take(1);
  EXPECT_NE(a, b);
  EXPECT_FALSE(table.Take(1).has_value());
  EXPECT_EQ(table.in_use(), 2u);
  table.Release(a);
  EXPECT_TRUE(table.Take(1).has_value());
}

TEST(PartitionProgressTest, CommittableOffsetIsTheLowWatermark) {
  TicketTable table(1, 8);
  PartitionProgress progress;
  const Ticket t10 = *table.Take(1);
  const Ticket t11 = *table.Take(1);
  const Ticket t12 = *table.Take(1);
  progress.Add(10, t10);
  progress.Add(11, t11);
  progress.Add(12, t12);
  table.Complete(t11);  // completes out of order
  table.Complete(t12);
  EXPECT_FALSE(progress.Advance(table).has_value()) << "10 is not done: nothing may move";
  EXPECT_FALSE(progress.committable().has_value());
  table.Complete(t10);
  EXPECT_EQ(progress.Advance(table), 13);
  EXPECT_EQ(progress.in_flight(), 0u);
  EXPECT_EQ(table.in_use(), 0u);  // retired tickets went back
  EXPECT_FALSE(progress.Advance(table).has_value());
  EXPECT_EQ(progress.committable(), 13);
}

}  // namespace
}  // namespace tidewatch::ingest
