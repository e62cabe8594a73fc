/*
 * A fake CUDA driver, cuBLAS and cuDNN in one library, for the tests of
 * package cuda on machines without a GPU: it exports the functions Open
 * calls, with the C signatures of cuda.h, cublas_api.h and cudnn.h, and
 * answers like a one-GPU CUDA 12.4 system. fakecuda_configure changes the
 * answers. Built without the C library (build.sh), so that it loads
 * anywhere.
 */
typedef unsigned long size_t;

static int init_result = 0;   /* what cuInit returns */
static int device_count = 1;
static int has_error_name = 1;

void fakecuda_configure(int init, int devices, int error_names) {
	init_result = init;
	device_count = devices;
	has_error_name = error_names;
}

int cuInit(unsigned int flags) { return flags != 0 ? 1 : init_result; }

int cuDriverGetVersion(int *v) { *v = 12040; return 0; }

int cuDeviceGetCount(int *n) { *n = device_count; return 0; }

int cuDeviceGet(int *dev, int ordinal) {
	if (ordinal < 0 || ordinal >= device_count) return 101; /* CUDA_ERROR_INVALID_DEVICE */
	*dev = ordinal;
	return 0;
}

int cuDeviceGetName(char *name, int len, int dev) {
	static const char base[] = "Fake GPU ";
	int i = 0;
	if (len < 12) return 1;
	for (; base[i]; i++) name[i] = base[i];
	name[i++] = (char)('0' + dev % 10);
	name[i] = 0;
	return 0;
}

int cuDeviceTotalMem_v2(size_t *bytes, int dev) {
	*bytes = (size_t)143771 << 20; /* an H200's 143771 MiB */
	return dev < device_count ? 0 : 101;
}

int cuGetErrorName(int res, const char **name) {
	if (!has_error_name || res != 100) return 1; /* CUDA_ERROR_INVALID_VALUE */
	*name = "CUDA_ERROR_NO_DEVICE";
	return 0;
}

int cublasGetProperty(int type, int *value) {
	switch (type) {
	case 0: *value = 12; return 0;
	case 1: *value = 1; return 0;
	case 2: *value = 3; return 0;
	}
	return 7; /* CUBLAS_STATUS_INVALID_VALUE */
}

size_t cudnnGetVersion(void) { return 90100; }
