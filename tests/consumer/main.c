#include <stdio.h>

#include "r1.h"

int main(void) {
    if (r1_abi_version() != R1_ABI_VERSION) return 1;
    printf("consumer links r1 %s\n", r1_version_string());
    return 0;
}
