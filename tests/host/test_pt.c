/* Host tests for the Sv39 page-table code (vm/pt.c) over a simulated 64 MiB of physical memory: runs
 * the cases of pt_map.c, pt_modify.c and pt_random.c in a fixed order, which the shared random stream
 * depends on (see pt_sim.c for the simulation and the independent walker). */
#include "tests/host/test_pt.h"

int main(void)
{
	htest_begin("pt", 17);
	htest_run("helpers", test_helpers);
	htest_run("every_leaf_size", test_every_leaf_size);
	htest_run("huge_choice", test_huge_choice);
	htest_run("invalid", test_invalid);
	htest_run("eexist_rollback", test_eexist_rollback);
	htest_run("enomem_rollback", test_enomem_rollback);
	htest_run("unmap_split", test_unmap_split);
	htest_run("table_reclaim", test_table_reclaim);
	htest_run("unmap_deferred", test_unmap_deferred);
	htest_run("rollback_deferred", test_rollback_deferred);
	htest_run("kernel_range", test_kernel_range);
	htest_run("kernel_range_failures", test_kernel_range_failures);
	htest_run("kernel_range_block", test_kernel_range_block);
	htest_run("kernel_range_small", test_kernel_range_small);
	htest_run("destroy_and_share", test_destroy_and_share);
	htest_run("prepopulate", test_prepopulate);
	htest_run("random_differential", test_random_differential);
	return htest_end();
}
