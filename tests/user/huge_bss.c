/* Not a test case itself: a valid program whose zero-filled data is 1 GiB (more would be out of reach of
 * the pc-relative addressing of the data after it), far over any task's page
 * quota. The boot matrix starts it as init; the kernel must refuse it by name before loading a page. */
#include "user/vmk.h"

static volatile char huge[1UL << 30];

int main(void)
{
	huge[0] = 1;
	return 0;
}
