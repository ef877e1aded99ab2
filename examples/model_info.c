/* The smallest useful r1 program: load a GGUF model and describe it.
 *
 *     cc -std=c99 model_info.c $(pkg-config --cflags --libs r1) -o model_info
 *     ./model_info model.gguf
 */
#include <stdio.h>

#include "r1.h"

int main(int argc, char** argv) {
    r1_model_params params;
    r1_model* model = NULL;
    r1_model_info info;
    r1_status status;
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL.gguf\n", argv[0]);
        return 2;
    }
    r1_model_params_init(&params);
    status = r1_model_load(argv[1], &params, &model);
    if (status != R1_OK) {
        fprintf(stderr, "cannot load %s: %s (%s)\n", argv[1], r1_last_error(), r1_status_string(status));
        return 1;
    }
    info.struct_size = sizeof info;
    status = r1_model_get_info(model, &info);
    if (status == R1_OK) {
        printf("%s: %s, %llu parameters, %lld layers, vocabulary of %lld tokens, chat template %s\n", argv[1],
               info.architecture, (unsigned long long)info.n_params, (long long)info.n_layers,
               (long long)info.n_vocab, info.has_chat_template ? "present" : "absent");
    }
    r1_model_free(model);
    return status == R1_OK ? 0 : 1;
}
