/* The Vulkan HAL: runs "spirv" payloads (targets/vulkan) on the device a
 * Vulkan driver offers.
 *
 * No link-time dependency: the Vulkan loader (libvulkan.so.1) is dlopen'ed
 * at the first model that needs it; the types come from the Khronos headers
 * (with VK_NO_PROTOTYPES), which Debian's libvulkan-dev and the Android NDK
 * ship.
 *
 * Model (executable): instance, physical and logical device, one compute
 * queue (shared by the model's contexts under a lock), the shader module,
 * and per kernel a descriptor-set layout (its bindings plus the params
 * slot), a pipeline layout and a compute pipeline, created through a
 * pipeline cache kept in the directory the app named.
 *
 * Context (device): a command buffer, a fence, a descriptor set per
 * dispatch of a call, and the params and indirect-arguments buffers. The
 * schedule is the same for every call (only the scalars and grids change
 * with the token count and position), so the command buffer is recorded
 * once and resubmitted: each call writes its scalars into the params
 * buffer the kernels read and its workgroup counts into the buffer that
 * vkCmdDispatchIndirect reads. Push constants would be recorded into the
 * command buffer and force a new recording per token. A call whose
 * dispatches differ from the recorded ones (another kernel or binding)
 * records anew.
 *
 * Memory: every buffer is host-visible and coherent (all memory on phones,
 * lavapipe and integrated GPUs; the weights are copied into device memory
 * once at open). Discrete GPUs work but read through the PCIe BAR: staging
 * copies are not written yet.
 *
 * LLMC_VULKAN_VALIDATION=1 enables the Khronos validation layer and turns
 * each of its warnings and errors into a failed call (the tests run so). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/hal/llmc_hal.h"

#ifdef LLMC_NO_VULKAN
const llmc_hal *llmc_hal_vulkan(void) { return NULL; }
#else

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

/* ---- the loader ------------------------------------------------------------------ */

#define VK_GLOBAL_FUNCTIONS(X)                                                    \
  X(vkCreateInstance)                                                             \
  X(vkEnumerateInstanceLayerProperties)                                           \
  X(vkEnumerateInstanceExtensionProperties)

#define VK_INSTANCE_FUNCTIONS(X)                                                  \
  X(vkDestroyInstance)                                                            \
  X(vkEnumeratePhysicalDevices)                                                   \
  X(vkGetPhysicalDeviceProperties)                                                \
  X(vkGetPhysicalDeviceProperties2)                                               \
  X(vkGetPhysicalDeviceFeatures2)                                                 \
  X(vkGetPhysicalDeviceQueueFamilyProperties)                                     \
  X(vkGetPhysicalDeviceMemoryProperties)                                          \
  X(vkEnumerateDeviceExtensionProperties)                                         \
  X(vkCreateDevice)                                                               \
  X(vkDestroyDevice)                                                              \
  X(vkGetDeviceQueue)                                                             \
  X(vkCreateShaderModule)                                                         \
  X(vkDestroyShaderModule)                                                        \
  X(vkCreateDescriptorSetLayout)                                                  \
  X(vkDestroyDescriptorSetLayout)                                                 \
  X(vkCreatePipelineLayout)                                                       \
  X(vkDestroyPipelineLayout)                                                      \
  X(vkCreatePipelineCache)                                                        \
  X(vkGetPipelineCacheData)                                                       \
  X(vkDestroyPipelineCache)                                                       \
  X(vkCreateComputePipelines)                                                     \
  X(vkDestroyPipeline)                                                            \
  X(vkCreateBuffer)                                                               \
  X(vkDestroyBuffer)                                                              \
  X(vkGetBufferMemoryRequirements)                                                \
  X(vkAllocateMemory)                                                             \
  X(vkFreeMemory)                                                                 \
  X(vkBindBufferMemory)                                                           \
  X(vkMapMemory)                                                                  \
  X(vkCreateCommandPool)                                                          \
  X(vkDestroyCommandPool)                                                         \
  X(vkAllocateCommandBuffers)                                                     \
  X(vkBeginCommandBuffer)                                                         \
  X(vkEndCommandBuffer)                                                           \
  X(vkResetCommandBuffer)                                                         \
  X(vkCmdBindPipeline)                                                            \
  X(vkCmdBindDescriptorSets)                                                      \
  X(vkCmdDispatchIndirect)                                                        \
  X(vkCmdPipelineBarrier)                                                         \
  X(vkCreateDescriptorPool)                                                       \
  X(vkDestroyDescriptorPool)                                                      \
  X(vkResetDescriptorPool)                                                        \
  X(vkAllocateDescriptorSets)                                                     \
  X(vkUpdateDescriptorSets)                                                       \
  X(vkCreateFence)                                                                \
  X(vkDestroyFence)                                                               \
  X(vkResetFences)                                                                \
  X(vkWaitForFences)                                                              \
  X(vkQueueSubmit)

static struct {
  int loaded;
  void *lib;
  PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr;
#define X(name) PFN_##name name;
  VK_GLOBAL_FUNCTIONS(X)
#undef X
} vk;

/* Instance-level entry points, per instance (loaded through it). */
typedef struct vk_fns {
#define X(name) PFN_##name name;
  VK_INSTANCE_FUNCTIONS(X)
#undef X
  PFN_vkCreateDebugUtilsMessengerEXT vkCreateDebugUtilsMessengerEXT;
  PFN_vkDestroyDebugUtilsMessengerEXT vkDestroyDebugUtilsMessengerEXT;
} vk_fns;

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

static llmc_status load_vulkan(const char *model) {
  pthread_mutex_lock(&load_lock);
  llmc_status st = LLMC_OK;
  if (!vk.loaded) {
    static const char *const names[] = {"libvulkan.so.1", "libvulkan.so"};
    for (size_t i = 0; i < sizeof names / sizeof *names && !vk.lib; ++i)
      vk.lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!vk.lib) {
      st = llmc_hal_fail(LLMC_ERR_UNSUPPORTED,
                         "%s: needs Vulkan, and libvulkan.so.1 could not be loaded "
                         "(install a Vulkan driver, e.g. mesa-vulkan-drivers)",
                         model);
    } else if (!(*(void **)&vk.vkGetInstanceProcAddr =
                     dlsym(vk.lib, "vkGetInstanceProcAddr"))) {
      st = llmc_hal_fail(LLMC_ERR_UNSUPPORTED, "%s: libvulkan lacks vkGetInstanceProcAddr",
                         model);
    } else {
#define X(name)                                                                          \
  if (st == LLMC_OK &&                                                                   \
      !(vk.name = (PFN_##name)vk.vkGetInstanceProcAddr(NULL, #name)))                    \
    st = llmc_hal_fail(LLMC_ERR_UNSUPPORTED, "%s: the Vulkan loader lacks " #name, model);
      VK_GLOBAL_FUNCTIONS(X)
#undef X
    }
    if (st == LLMC_OK) {
      vk.loaded = 1;
    } else if (vk.lib) {
      dlclose(vk.lib);
      vk.lib = NULL;
    }
  }
  pthread_mutex_unlock(&load_lock);
  return st;
}

/* ---- validation ------------------------------------------------------------------ */

static pthread_mutex_t msg_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned validation_messages; /* warnings and errors since load */

static VKAPI_ATTR VkBool32 VKAPI_CALL on_validation(
    VkDebugUtilsMessageSeverityFlagBitsEXT severity, VkDebugUtilsMessageTypeFlagsEXT type,
    const VkDebugUtilsMessengerCallbackDataEXT *data, void *user) {
  (void)type;
  (void)user;
  if (severity & (VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                  VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT)) {
    pthread_mutex_lock(&msg_lock);
    ++validation_messages;
    fprintf(stderr, "llmc: vulkan validation: %s\n",
            data && data->pMessage ? data->pMessage : "(no message)");
    pthread_mutex_unlock(&msg_lock);
  }
  return VK_FALSE;
}

static unsigned validation_count(void) {
  pthread_mutex_lock(&msg_lock);
  unsigned n = validation_messages;
  pthread_mutex_unlock(&msg_lock);
  return n;
}

static int validation_wanted(void) {
  const char *v = getenv("LLMC_VULKAN_VALIDATION");
  return v && *v && strcmp(v, "0") != 0;
}

/* ---- the SPIR-V module, read before the driver sees it ----------------------------- */

/* What the HAL needs from the code, and what it checks against the
 * artifact's kernel table: every entry exists, has a 1-D LocalSize, and
 * touches exactly the storage buffers (set 0) of its bindings plus the
 * params slot; the capabilities say which device features to enable. */
enum {
  CAP_INT8 = 1 << 0,
  CAP_INT16 = 1 << 1,
  CAP_INT64 = 1 << 2,
  CAP_FLOAT16 = 1 << 3,
  CAP_STORAGE8 = 1 << 4,
  CAP_STORAGE16 = 1 << 5,
  CAP_SUBGROUP_BASIC = 1 << 6,
  CAP_SUBGROUP_ARITH = 1 << 7,
};

typedef struct spirv_info {
  uint32_t version; /* 0x00010300 for 1.3 */
  uint32_t caps;
  uint32_t *local_size; /* per entry */
} spirv_info;

enum {
  OP_NAME_ENTRY = 15, OP_EXEC_MODE = 16, OP_CAPABILITY = 17, OP_FUNCTION = 54,
  OP_FUNCTION_END = 56, OP_FUNCTION_CALL = 57, OP_VARIABLE = 59, OP_LOAD = 61,
  OP_STORE = 62, OP_ACCESS_CHAIN = 65, OP_IN_BOUNDS_ACCESS_CHAIN = 66, OP_DECORATE = 71,
  DEC_BINDING = 33, DEC_SET = 34, SC_STORAGE_BUFFER = 12, MODE_LOCAL_SIZE = 17,
  MODEL_GL_COMPUTE = 5
};

/* Length in words of the string literal at w (bounded by n words). */
static uint32_t literal_words(const uint32_t *w, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t x = w[i];
    if (!(x & 0xff) || !(x & 0xff00) || !(x & 0xff0000) || !(x & 0xff000000)) return i + 1;
  }
  return n + 1; /* unterminated */
}

static llmc_status parse_spirv(const char *model, const uint8_t *code, uint64_t size,
                               const char *const *entries, const llmc_hal_kernel_sig *sigs,
                               uint32_t n, spirv_info *out) {
#define BAD(...) \
  do { st = llmc_hal_fail(LLMC_ERR_BAD_FORMAT, __VA_ARGS__); goto done; } while (0)
  llmc_status st = LLMC_OK;
  const uint32_t nw = (uint32_t)(size / 4);
  uint32_t *w = NULL;
  /* Per id: a storage-buffer variable's binding + 1 (0: none), whether it
   * is one, whether its set is not 0. */
  uint32_t *binding = NULL;
  uint8_t *is_sb = NULL, *set_nonzero = NULL;
  uint32_t *fn_of_entry = calloc(n, sizeof *fn_of_entry);
  uint64_t *used = calloc(n, sizeof *used); /* bindings each entry touches */
  out->local_size = calloc(n, sizeof *out->local_size);
  if (!fn_of_entry || !used || !out->local_size) {
    st = llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "%s: out of memory", model);
    goto done;
  }
  if (size % 4 || nw < 5 || size > (1ull << 30)) BAD("%s: the SPIR-V payload has a bad size", model);
  if (!(w = malloc(size))) {
    st = llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "%s: out of memory", model);
    goto done;
  }
  memcpy(w, code, size); /* the payload is only byte-aligned in the file */
  if (w[0] != 0x07230203u) BAD("%s: the payload is not SPIR-V (magic %08x)", model, w[0]);
  out->version = w[1];
  const uint32_t bound = w[3];
  if (bound == 0 || bound > (1u << 22)) BAD("%s: SPIR-V id bound %u", model, bound);
  binding = calloc(bound, sizeof *binding);
  is_sb = calloc(bound, 1);
  set_nonzero = calloc(bound, 1);
  if (!binding || !is_sb || !set_nonzero) {
    st = llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "%s: out of memory", model);
    goto done;
  }
  /* Pass 1: module-level instructions. */
  for (uint32_t i = 5; i < nw;) {
    uint32_t wc = w[i] >> 16, op = w[i] & 0xffff;
    if (wc == 0 || wc > nw - i) {
      BAD("%s: malformed SPIR-V instruction at word %u", model, i);
    }
    const uint32_t *a = w + i + 1; /* operands */
    uint32_t na = wc - 1;
    if (op == OP_CAPABILITY && na >= 1) {
      switch (a[0]) {
        case 1: /* Shader */ break;
        case 39: out->caps |= CAP_INT8; break;
        case 22: out->caps |= CAP_INT16; break;
        case 11: out->caps |= CAP_INT64; break;
        case 9: out->caps |= CAP_FLOAT16; break;
        case 4448: out->caps |= CAP_STORAGE8; break;
        case 4433: out->caps |= CAP_STORAGE16; break;
        case 61: out->caps |= CAP_SUBGROUP_BASIC; break;
        case 63: out->caps |= CAP_SUBGROUP_BASIC | CAP_SUBGROUP_ARITH; break;
        default:
          BAD("%s: the SPIR-V code needs capability %u, which this runtime does not "
              "enable", model, a[0]);
      }
    } else if (op == OP_NAME_ENTRY && na >= 3) {
      uint32_t lw = literal_words(a + 2, na - 2);
      if (lw > na - 2) {
        BAD("%s: malformed OpEntryPoint", model);
      }
      const char *name = (const char *)(a + 2);
      for (uint32_t k = 0; k < n; ++k)
        if (a[0] == MODEL_GL_COMPUTE && !strcmp(name, entries[k])) fn_of_entry[k] = a[1];
    } else if (op == OP_EXEC_MODE && na >= 5 && a[1] == MODE_LOCAL_SIZE) {
      for (uint32_t k = 0; k < n; ++k)
        if (fn_of_entry[k] == a[0])
          out->local_size[k] = (a[3] == 1 && a[4] == 1) ? a[2] : 0xffffffffu;
    } else if (op == OP_DECORATE && na >= 3 && a[0] < bound) {
      if (a[1] == DEC_BINDING) binding[a[0]] = a[2] + 1;
      if (a[1] == DEC_SET && a[2] != 0) set_nonzero[a[0]] = 1;
    } else if (op == OP_VARIABLE && na >= 3 && a[1] < bound && a[2] == SC_STORAGE_BUFFER) {
      is_sb[a[1]] = 1;
    }
    i += wc;
  }
  /* Pass 2: which storage buffers each entry's function touches. */
  int32_t cur = -1; /* entry index of the function being read */
  for (uint32_t i = 5; i < nw; i += w[i] >> 16) {
    uint32_t wc = w[i] >> 16, op = w[i] & 0xffff;
    const uint32_t *a = w + i + 1;
    if (op == OP_FUNCTION && wc >= 3) {
      cur = -2; /* a function no entry names */
      for (uint32_t k = 0; k < n; ++k)
        if (fn_of_entry[k] == a[1]) cur = (int32_t)k;
    } else if (op == OP_FUNCTION_END) {
      cur = -1;
    } else if (cur >= 0) {
      uint32_t ptr = 0;
      if ((op == OP_ACCESS_CHAIN || op == OP_IN_BOUNDS_ACCESS_CHAIN || op == OP_LOAD) &&
          wc >= 4)
        ptr = a[2];
      else if (op == OP_STORE && wc >= 3)
        ptr = a[0];
      else if (op == OP_FUNCTION_CALL) {
        BAD("%s: kernel '%s' calls a function (llmc's kernels are one function each)",
            model, entries[cur]);
      }
      if (ptr && ptr < bound && is_sb[ptr]) {
        if (!binding[ptr] || set_nonzero[ptr] || binding[ptr] > 64) {
          BAD("%s: kernel '%s' reads a storage buffer outside set 0's bindings 0-63", model,
              entries[cur]);
        }
        used[cur] |= 1ull << (binding[ptr] - 1);
      }
    }
  }
  for (uint32_t k = 0; k < n; ++k) {
    if (!fn_of_entry[k]) BAD("%s: the SPIR-V code has no compute entry point '%s'", model, entries[k]);
    if (out->local_size[k] == 0 || out->local_size[k] > 1024)
      BAD("%s: kernel '%s' has no 1-D LocalSize of at most 1024", model, entries[k]);
    /* Bindings 0..b-1 and the params slot b, each at most once. */
    uint32_t b = sigs[k].num_bindings;
    uint64_t allowed = (b + 1 >= 64) ? ~0ull : ((1ull << (b + 1)) - 1);
    if ((used[k] & ~allowed) || !(used[k] >> b & 1))
      BAD("%s: kernel '%s' uses storage buffers that disagree with the artifact's kernel "
          "table (%u bindings and a params slot)", model, entries[k], b);
  }
done:
  free(w);
  free(binding);
  free(is_sb);
  free(set_nonzero);
  free(fn_of_entry);
  free(used);
  if (st != LLMC_OK) {
    free(out->local_size);
    out->local_size = NULL;
  }
  return st;
#undef BAD
}

/* ---- executables ------------------------------------------------------------------ */

typedef struct vk_kernel {
  VkDescriptorSetLayout set_layout;
  VkPipelineLayout layout;
  VkPipeline pipeline;
  uint32_t num_bindings, num_scalars, local_size;
} vk_kernel;

struct llmc_hal_executable {
  vk_fns f;
  VkInstance instance;
  VkDebugUtilsMessengerEXT messenger;
  VkPhysicalDevice phys;
  VkPhysicalDeviceLimits limits;
  VkDevice device;
  VkQueue queue;
  uint32_t queue_family;
  pthread_mutex_t queue_lock; /* contexts share the queue */
  uint32_t memory_type;       /* host-visible, coherent */
  VkShaderModule module;
  VkPipelineCache cache;
  uint32_t num_kernels;
  vk_kernel *kernels;
  unsigned validation_base; /* messages before this model */
  char device_desc[300];
};

static void executable_free(llmc_hal_executable *exe) {
  if (!exe) return;
  vk_fns *f = &exe->f;
  if (exe->device) {
    for (uint32_t i = 0; exe->kernels && i < exe->num_kernels; ++i) {
      vk_kernel *k = &exe->kernels[i];
      if (k->pipeline) f->vkDestroyPipeline(exe->device, k->pipeline, NULL);
      if (k->layout) f->vkDestroyPipelineLayout(exe->device, k->layout, NULL);
      if (k->set_layout) f->vkDestroyDescriptorSetLayout(exe->device, k->set_layout, NULL);
    }
    if (exe->cache) f->vkDestroyPipelineCache(exe->device, exe->cache, NULL);
    if (exe->module) f->vkDestroyShaderModule(exe->device, exe->module, NULL);
    f->vkDestroyDevice(exe->device, NULL);
  }
  if (exe->messenger) f->vkDestroyDebugUtilsMessengerEXT(exe->instance, exe->messenger, NULL);
  if (exe->instance) f->vkDestroyInstance(exe->instance, NULL);
  pthread_mutex_destroy(&exe->queue_lock);
  free(exe->kernels);
  free(exe);
}

static const char *executable_device(const llmc_hal_executable *exe) {
  return exe->device_desc;
}

static int has_layer(const char *name) {
  uint32_t n = 0;
  if (vk.vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0) return 0;
  VkLayerProperties *p = calloc(n, sizeof *p);
  int found = 0;
  if (p && vk.vkEnumerateInstanceLayerProperties(&n, p) == VK_SUCCESS)
    for (uint32_t i = 0; i < n && !found; ++i) found = !strcmp(p[i].layerName, name);
  free(p);
  return found;
}

static int device_has_extension(llmc_hal_executable *exe, const char *name) {
  uint32_t n = 0;
  if (exe->f.vkEnumerateDeviceExtensionProperties(exe->phys, NULL, &n, NULL) != VK_SUCCESS)
    return 0;
  VkExtensionProperties *p = calloc(n ? n : 1, sizeof *p);
  int found = 0;
  if (p && exe->f.vkEnumerateDeviceExtensionProperties(exe->phys, NULL, &n, p) == VK_SUCCESS)
    for (uint32_t i = 0; i < n && !found; ++i) found = !strcmp(p[i].extensionName, name);
  free(p);
  return found;
}

static llmc_status create_instance(const char *model, llmc_hal_executable *exe) {
  const int validate = validation_wanted();
  const char *layer = "VK_LAYER_KHRONOS_validation";
  const char *ext = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
  if (validate && !has_layer(layer))
    return llmc_hal_fail(LLMC_ERR_UNSUPPORTED,
                         "%s: LLMC_VULKAN_VALIDATION is set but %s is not installed "
                         "(vulkan-validationlayers)", model, layer);
  VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "llmc";
  app.pEngineName = "llmc";
  app.apiVersion = VK_API_VERSION_1_3; /* the highest we use; drivers clamp */
  VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ci.pApplicationInfo = &app;
  VkDebugUtilsMessengerCreateInfoEXT mi = {.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
  mi.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  mi.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                   VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                   VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
  mi.pfnUserCallback = on_validation;
  if (validate) {
    ci.enabledLayerCount = 1;
    ci.ppEnabledLayerNames = &layer;
    ci.enabledExtensionCount = 1;
    ci.ppEnabledExtensionNames = &ext;
    ci.pNext = &mi; /* also covers instance creation itself */
  }
  VkResult r = vk.vkCreateInstance(&ci, NULL, &exe->instance);
  if (r != VK_SUCCESS)
    return llmc_hal_fail(LLMC_ERR_UNSUPPORTED, "%s: vkCreateInstance failed (%d)", model, r);
#define X(name)                                                                           \
  if (!(exe->f.name = (PFN_##name)vk.vkGetInstanceProcAddr(exe->instance, #name)))        \
    return llmc_hal_fail(LLMC_ERR_UNSUPPORTED, "%s: the Vulkan loader lacks " #name       \
                         " (Vulkan 1.1 is needed)", model);
  VK_INSTANCE_FUNCTIONS(X)
#undef X
  if (validate) {
    exe->f.vkCreateDebugUtilsMessengerEXT = (PFN_vkCreateDebugUtilsMessengerEXT)
        vk.vkGetInstanceProcAddr(exe->instance, "vkCreateDebugUtilsMessengerEXT");
    exe->f.vkDestroyDebugUtilsMessengerEXT = (PFN_vkDestroyDebugUtilsMessengerEXT)
        vk.vkGetInstanceProcAddr(exe->instance, "vkDestroyDebugUtilsMessengerEXT");
    if (!exe->f.vkCreateDebugUtilsMessengerEXT || !exe->f.vkDestroyDebugUtilsMessengerEXT ||
        exe->f.vkCreateDebugUtilsMessengerEXT(exe->instance, &mi, NULL, &exe->messenger) !=
            VK_SUCCESS)
      return llmc_hal_fail(LLMC_ERR_UNSUPPORTED, "%s: cannot install the validation "
                           "messenger", model);
  }
  return LLMC_OK;
}

/* The device LLMC_VULKAN_DEVICE names (an index, or a substring of the
 * device name), else the first GPU, else the first device (lavapipe, a CPU
 * implementation: for tests). */
static llmc_status pick_device(const char *model, llmc_hal_executable *exe) {
  VkPhysicalDevice devs[16];
  uint32_t n = 16;
  VkResult r = exe->f.vkEnumeratePhysicalDevices(exe->instance, &n, devs);
  if ((r != VK_SUCCESS && r != VK_INCOMPLETE) || n == 0)
    return llmc_hal_fail(LLMC_ERR_UNSUPPORTED, "%s: no Vulkan device", model);
  const char *want = getenv("LLMC_VULKAN_DEVICE");
  char *end = NULL;
  long want_index = want && *want ? strtol(want, &end, 10) : -1;
  int by_index = want && *want && end && *end == '\0';
  int chosen = -1, first_gpu = -1;
  VkPhysicalDeviceProperties p;
  for (uint32_t i = 0; i < n; ++i) {
    exe->f.vkGetPhysicalDeviceProperties(devs[i], &p);
    int gpu = p.deviceType == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU ||
              p.deviceType == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU ||
              p.deviceType == VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU;
    if (gpu && first_gpu < 0) first_gpu = (int)i;
    if (want && *want && chosen < 0 &&
        (by_index ? (long)i == want_index : strstr(p.deviceName, want) != NULL))
      chosen = (int)i;
  }
  if (want && *want && chosen < 0)
    return llmc_hal_fail(LLMC_ERR_UNSUPPORTED,
                         "%s: LLMC_VULKAN_DEVICE=%s matches none of the %u Vulkan devices",
                         model, want, n);
  if (chosen < 0) chosen = first_gpu >= 0 ? first_gpu : 0;
  exe->phys = devs[chosen];
  exe->f.vkGetPhysicalDeviceProperties(exe->phys, &p);
  exe->limits = p.limits;
  snprintf(exe->device_desc, sizeof exe->device_desc, "Vulkan %u.%u %s: %s",
           VK_API_VERSION_MAJOR(p.apiVersion), VK_API_VERSION_MINOR(p.apiVersion),
           p.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU ? "CPU" : "GPU", p.deviceName);
  return LLMC_OK;
}

/* The device, with the features the code's capabilities need enabled, or
 * an error naming the first one the device lacks. */
static llmc_status create_device(const char *model, llmc_hal_executable *exe,
                                 const spirv_info *info) {
  vk_fns *f = &exe->f;
  VkPhysicalDeviceProperties props;
  f->vkGetPhysicalDeviceProperties(exe->phys, &props);
  const uint32_t api = props.apiVersion;
  /* SPIR-V 1.3 needs Vulkan 1.1, 1.4 and 1.5 need 1.2, 1.6 needs 1.3. */
  uint32_t spv_minor = (info->version >> 8) & 0xff;
  uint32_t need_minor = spv_minor <= 3 ? 1 : spv_minor <= 5 ? 2 : 3;
  if (VK_API_VERSION_MINOR(api) < need_minor && VK_API_VERSION_MAJOR(api) == 1)
    return llmc_hal_fail(LLMC_ERR_UNSUPPORTED,
                         "%s: the code is SPIR-V 1.%u, which needs Vulkan 1.%u; %s has "
                         "Vulkan %u.%u (build for a preset of its API level)",
                         model, spv_minor, need_minor, exe->device_desc,
                         VK_API_VERSION_MAJOR(api), VK_API_VERSION_MINOR(api));
  const int v12 = VK_API_VERSION_MINOR(api) >= 2;
  const char *exts[2];
  uint32_t next = 0;
  int have_f16i8 = v12, have_s8 = v12;
  if (!v12 && device_has_extension(exe, "VK_KHR_shader_float16_int8"))
    have_f16i8 = 1, exts[next++] = "VK_KHR_shader_float16_int8";
  if (!v12 && device_has_extension(exe, "VK_KHR_8bit_storage"))
    have_s8 = 1, exts[next++] = "VK_KHR_8bit_storage";

  VkPhysicalDeviceShaderFloat16Int8Features f16i8 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
  VkPhysicalDevice8BitStorageFeatures s8 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES};
  VkPhysicalDevice16BitStorageFeatures s16 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  VkPhysicalDeviceFeatures2 feats = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  void **tail = &feats.pNext;
  *tail = &s16, tail = &s16.pNext;
  if (have_f16i8) *tail = &f16i8, tail = &f16i8.pNext;
  if (have_s8) *tail = &s8, tail = &s8.pNext;
  f->vkGetPhysicalDeviceFeatures2(exe->phys, &feats);
  VkPhysicalDeviceSubgroupProperties sg = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceProperties2 props2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  props2.pNext = &sg;
  f->vkGetPhysicalDeviceProperties2(exe->phys, &props2);

  /* Enable exactly what the code declares. */
  VkPhysicalDeviceFeatures2 on = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  VkPhysicalDeviceShaderFloat16Int8Features on_f16i8 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
  VkPhysicalDevice8BitStorageFeatures on_s8 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES};
  VkPhysicalDevice16BitStorageFeatures on_s16 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  const char *missing = NULL;
#define NEED(cap, have, flag, what) \
  if ((info->caps & (cap)) && !missing) { if (have) flag = VK_TRUE; else missing = what; }
  NEED(CAP_INT8, have_f16i8 && f16i8.shaderInt8, on_f16i8.shaderInt8, "shaderInt8")
  NEED(CAP_FLOAT16, have_f16i8 && f16i8.shaderFloat16, on_f16i8.shaderFloat16, "shaderFloat16")
  NEED(CAP_STORAGE8, have_s8 && s8.storageBuffer8BitAccess, on_s8.storageBuffer8BitAccess,
       "storageBuffer8BitAccess")
  NEED(CAP_STORAGE16, s16.storageBuffer16BitAccess, on_s16.storageBuffer16BitAccess,
       "storageBuffer16BitAccess")
  NEED(CAP_INT16, feats.features.shaderInt16, on.features.shaderInt16, "shaderInt16")
  NEED(CAP_INT64, feats.features.shaderInt64, on.features.shaderInt64, "shaderInt64")
#undef NEED
  if (!missing && (info->caps & CAP_SUBGROUP_BASIC) &&
      (!(sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) ||
       !(sg.supportedOperations & VK_SUBGROUP_FEATURE_BASIC_BIT)))
    missing = "subgroup operations in compute shaders";
  if (!missing && (info->caps & CAP_SUBGROUP_ARITH) &&
      !(sg.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT))
    missing = "subgroup arithmetic";
  if (missing)
    return llmc_hal_fail(LLMC_ERR_UNSUPPORTED, "%s: the code needs %s, which %s lacks", model,
                         missing, exe->device_desc);
  void **on_tail = &on.pNext;
  *on_tail = &on_s16, on_tail = &on_s16.pNext;
  if (have_f16i8) *on_tail = &on_f16i8, on_tail = &on_f16i8.pNext;
  if (have_s8) *on_tail = &on_s8, on_tail = &on_s8.pNext;

  uint32_t nq = 0;
  f->vkGetPhysicalDeviceQueueFamilyProperties(exe->phys, &nq, NULL);
  VkQueueFamilyProperties qf[32];
  if (nq > 32) nq = 32;
  f->vkGetPhysicalDeviceQueueFamilyProperties(exe->phys, &nq, qf);
  uint32_t family = UINT32_MAX;
  for (uint32_t i = 0; i < nq && family == UINT32_MAX; ++i)
    if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) family = i;
  if (family == UINT32_MAX)
    return llmc_hal_fail(LLMC_ERR_UNSUPPORTED, "%s: %s has no compute queue", model,
                         exe->device_desc);
  const float priority = 1.0f;
  VkDeviceQueueCreateInfo qi = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qi.queueFamilyIndex = family;
  qi.queueCount = 1;
  qi.pQueuePriorities = &priority;
  VkDeviceCreateInfo di = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  di.pNext = &on;
  di.queueCreateInfoCount = 1;
  di.pQueueCreateInfos = &qi;
  di.enabledExtensionCount = next;
  di.ppEnabledExtensionNames = exts;
  VkResult r = f->vkCreateDevice(exe->phys, &di, NULL, &exe->device);
  if (r != VK_SUCCESS)
    return llmc_hal_fail(LLMC_ERR_UNSUPPORTED, "%s: vkCreateDevice failed (%d)", model, r);
  exe->queue_family = family;
  f->vkGetDeviceQueue(exe->device, family, 0, &exe->queue);

  VkPhysicalDeviceMemoryProperties mp;
  f->vkGetPhysicalDeviceMemoryProperties(exe->phys, &mp);
  const VkMemoryPropertyFlags want =
      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  exe->memory_type = UINT32_MAX;
  for (int pass = 0; pass < 2 && exe->memory_type == UINT32_MAX; ++pass)
    for (uint32_t i = 0; i < mp.memoryTypeCount && exe->memory_type == UINT32_MAX; ++i) {
      VkMemoryPropertyFlags fl = mp.memoryTypes[i].propertyFlags;
      /* Prefer memory that is also device-local (phones, APUs, ReBAR). */
      if ((fl & want) == want && (pass || (fl & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)))
        exe->memory_type = i;
    }
  if (exe->memory_type == UINT32_MAX)
    return llmc_hal_fail(LLMC_ERR_UNSUPPORTED, "%s: %s has no host-visible coherent memory",
                         model, exe->device_desc);
  return LLMC_OK;
}

static void cache_path(const char *dir, llmc_hal_executable *exe, const uint8_t *code,
                       uint64_t size, char *out, size_t out_size) {
  VkPhysicalDeviceProperties p;
  exe->f.vkGetPhysicalDeviceProperties(exe->phys, &p);
  uint64_t h = llmc_hal_fnv1a(0xcbf29ce484222325ull, p.pipelineCacheUUID,
                              sizeof p.pipelineCacheUUID);
  h = llmc_hal_fnv1a(h, &p.driverVersion, sizeof p.driverVersion);
  h = llmc_hal_fnv1a(h, code, (size_t)size);
  snprintf(out, out_size, "%s/llmc-vulkan-%016llx.bin", dir, (unsigned long long)h);
}

static llmc_status executable_load(const char *model, const uint8_t *code, uint64_t size,
                                   const char *const *entries, const llmc_hal_kernel_sig *sigs,
                                   uint32_t n, const char *cache_dir,
                                   llmc_hal_executable **out) {
  *out = NULL;
  llmc_status st = load_vulkan(model);
  if (st) return st;
  spirv_info info = {0, 0, NULL};
  if ((st = parse_spirv(model, code, size, entries, sigs, n, &info))) return st;
  llmc_hal_executable *exe = calloc(1, sizeof *exe);
  if (!exe) {
    free(info.local_size);
    return llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "%s: out of memory", model);
  }
  pthread_mutex_init(&exe->queue_lock, NULL);
  exe->validation_base = validation_count();
  exe->num_kernels = n;
  exe->kernels = calloc(n, sizeof *exe->kernels);
  if (!exe->kernels) st = llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "%s: out of memory", model);
  if (!st) st = create_instance(model, exe);
  if (!st) st = pick_device(model, exe);
  if (!st) st = create_device(model, exe, &info);
  vk_fns *f = &exe->f;
  if (!st) {
    VkShaderModuleCreateInfo si = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    uint32_t *words = malloc(size);
    if (!words) {
      st = llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "%s: out of memory", model);
    } else {
      memcpy(words, code, size);
      si.codeSize = (size_t)size;
      si.pCode = words;
      VkResult r = f->vkCreateShaderModule(exe->device, &si, NULL, &exe->module);
      free(words);
      if (r != VK_SUCCESS)
        st = llmc_hal_fail(LLMC_ERR_PAYLOAD_LOAD, "%s: the driver refused the SPIR-V (%d)",
                           model, r);
    }
  }
  char path[4200] = "";
  size_t cached_size = 0;
  unsigned char *cached = NULL;
  if (!st) {
    if (cache_dir && *cache_dir) {
      cache_path(cache_dir, exe, code, size, path, sizeof path);
      cached = llmc_hal_read_file(path, &cached_size);
    }
    VkPipelineCacheCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
    ci.initialDataSize = cached ? cached_size : 0;
    ci.pInitialData = cached;
    if (f->vkCreatePipelineCache(exe->device, &ci, NULL, &exe->cache) != VK_SUCCESS) {
      /* A cache the driver rejects is rebuilt empty. */
      ci.initialDataSize = 0;
      ci.pInitialData = NULL;
      f->vkCreatePipelineCache(exe->device, &ci, NULL, &exe->cache);
    }
  }
  for (uint32_t i = 0; !st && i < n; ++i) {
    vk_kernel *k = &exe->kernels[i];
    k->num_bindings = sigs[i].num_bindings;
    k->num_scalars = sigs[i].num_scalars;
    k->local_size = info.local_size[i];
    if (k->num_bindings + 1 > LLMC_HAL_MAX_BINDINGS + 1 ||
        k->num_bindings + 1 > exe->limits.maxPerStageDescriptorStorageBuffers) {
      st = llmc_hal_fail(LLMC_ERR_UNSUPPORTED, "%s: kernel '%s' binds %u buffers, more than "
                         "%s allows", model, entries[i], k->num_bindings + 1,
                         exe->device_desc);
      break;
    }
    VkDescriptorSetLayoutBinding b[LLMC_HAL_MAX_BINDINGS + 1];
    for (uint32_t j = 0; j <= k->num_bindings; ++j) {
      memset(&b[j], 0, sizeof b[j]);
      b[j].binding = j;
      b[j].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
      b[j].descriptorCount = 1;
      b[j].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
    }
    VkDescriptorSetLayoutCreateInfo li = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    li.bindingCount = k->num_bindings + 1;
    li.pBindings = b;
    VkPipelineLayoutCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    pi.setLayoutCount = 1;
    pi.pSetLayouts = &k->set_layout;
    VkComputePipelineCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
    ci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
    ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    ci.stage.module = exe->module;
    ci.stage.pName = entries[i];
    VkResult r;
    if ((r = f->vkCreateDescriptorSetLayout(exe->device, &li, NULL, &k->set_layout)) ||
        (r = f->vkCreatePipelineLayout(exe->device, &pi, NULL, &k->layout)) ||
        (ci.layout = k->layout,
         r = f->vkCreateComputePipelines(exe->device, exe->cache, 1, &ci, NULL, &k->pipeline)))
      st = llmc_hal_fail(LLMC_ERR_PAYLOAD_LOAD, "%s: the driver could not build kernel '%s' "
                         "(%d)", model, entries[i], r);
  }
  if (!st && path[0]) {
    size_t n_data = 0;
    if (f->vkGetPipelineCacheData(exe->device, exe->cache, &n_data, NULL) == VK_SUCCESS &&
        n_data && (n_data != cached_size)) {
      void *data = malloc(n_data);
      if (data && f->vkGetPipelineCacheData(exe->device, exe->cache, &n_data, data) ==
                      VK_SUCCESS)
        llmc_hal_write_file(path, data, n_data);
      free(data);
    }
  }
  free(cached);
  free(info.local_size);
  if (!st && validation_count() != exe->validation_base)
    st = llmc_hal_fail(LLMC_ERR_UNSUPPORTED, "%s: Vulkan validation reported problems (above)",
                       model);
  if (st) {
    executable_free(exe);
    return st;
  }
  *out = exe;
  return LLMC_OK;
}

/* ---- buffers ------------------------------------------------------------------------ */

struct llmc_hal_buffer {
  llmc_hal_executable *exe;
  VkBuffer buffer;
  VkDeviceMemory memory;
  void *host;
  uint64_t size;
};

static void buffer_free(llmc_hal_buffer *b) {
  if (!b) return;
  vk_fns *f = &b->exe->f;
  if (b->buffer) f->vkDestroyBuffer(b->exe->device, b->buffer, NULL);
  if (b->memory) f->vkFreeMemory(b->exe->device, b->memory, NULL);
  free(b);
}

static llmc_status make_buffer(llmc_hal_executable *exe, uint64_t size, VkBufferUsageFlags usage,
                               llmc_hal_buffer **out) {
  *out = NULL;
  llmc_hal_buffer *b = calloc(1, sizeof *b);
  if (!b) return llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "out of memory");
  b->exe = exe;
  b->size = size;
  vk_fns *f = &exe->f;
  VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bi.size = size ? size : 64; /* Vulkan refuses empty buffers */
  bi.usage = usage;
  bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VkResult r = f->vkCreateBuffer(exe->device, &bi, NULL, &b->buffer);
  VkMemoryRequirements req;
  if (r == VK_SUCCESS) {
    f->vkGetBufferMemoryRequirements(exe->device, b->buffer, &req);
    if (!(req.memoryTypeBits & (1u << exe->memory_type))) r = VK_ERROR_FEATURE_NOT_PRESENT;
  }
  if (r == VK_SUCCESS) {
    VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    ai.allocationSize = req.size;
    ai.memoryTypeIndex = exe->memory_type;
    r = f->vkAllocateMemory(exe->device, &ai, NULL, &b->memory);
  }
  if (r == VK_SUCCESS) r = f->vkBindBufferMemory(exe->device, b->buffer, b->memory, 0);
  if (r == VK_SUCCESS) r = f->vkMapMemory(exe->device, b->memory, 0, VK_WHOLE_SIZE, 0, &b->host);
  if (r != VK_SUCCESS) {
    buffer_free(b);
    return llmc_hal_fail(r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY
                             ? LLMC_ERR_OUT_OF_MEMORY
                             : LLMC_ERR_UNSUPPORTED,
                         "a Vulkan buffer of %llu bytes: error %d", (unsigned long long)size, r);
  }
  *out = b;
  return LLMC_OK;
}

/* ---- devices (one per context) ------------------------------------------------------ */

/* One dispatch of the recorded call: what its descriptor set holds. */
typedef struct vk_slot {
  uint32_t kernel, num_bindings;
  llmc_hal_buffer *buffers[LLMC_HAL_MAX_BINDINGS];
  uint64_t offsets[LLMC_HAL_MAX_BINDINGS], sizes[LLMC_HAL_MAX_BINDINGS];
  VkDescriptorSet set;
} vk_slot;

/* Per slot: the scalars then the grid, as i32 (the kernels' params). */
#define PARAMS_WORDS (LLMC_HAL_MAX_SCALARS + 1)

struct llmc_hal_device {
  llmc_hal_executable *exe;
  VkCommandPool pool;
  VkCommandBuffer cmd;
  VkFence fence;
  VkDescriptorPool dpool;
  llmc_hal_buffer *params, *indirect;
  uint64_t params_stride;
  uint32_t capacity;   /* slots the pool and buffers hold */
  vk_slot *slots;      /* this call's dispatches */
  uint32_t *words;     /* this call's params, capacity * params_stride / 4 */
  VkDispatchIndirectCommand *groups; /* this call's workgroup counts */
  uint32_t count;      /* dispatches queued since the last barrier */
  uint32_t recorded;   /* dispatches the command buffer holds (0: none) */
  int dirty;           /* a queued dispatch differs from the recorded one */
};

static void device_free(llmc_hal_device *d) {
  if (!d) return;
  llmc_hal_executable *exe = d->exe;
  vk_fns *f = &exe->f;
  if (d->fence) f->vkDestroyFence(exe->device, d->fence, NULL);
  if (d->pool) f->vkDestroyCommandPool(exe->device, d->pool, NULL);
  if (d->dpool) f->vkDestroyDescriptorPool(exe->device, d->dpool, NULL);
  buffer_free(d->params);
  buffer_free(d->indirect);
  free(d->slots);
  free(d->words);
  free(d->groups);
  free(d);
}

static llmc_status device_create(llmc_hal_executable *exe, int32_t n_threads,
                                 llmc_hal_device **out) {
  (void)n_threads; /* the driver schedules the device */
  *out = NULL;
  llmc_hal_device *d = calloc(1, sizeof *d);
  if (!d) return llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "out of memory for a device");
  d->exe = exe;
  vk_fns *f = &exe->f;
  uint64_t align = exe->limits.minStorageBufferOffsetAlignment;
  if (align < 16) align = 16;
  d->params_stride = (PARAMS_WORDS * 4 + align - 1) / align * align;
  VkCommandPoolCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pi.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pi.queueFamilyIndex = exe->queue_family;
  VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandBufferCount = 1;
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  VkResult r = f->vkCreateCommandPool(exe->device, &pi, NULL, &d->pool);
  if (r == VK_SUCCESS) {
    ai.commandPool = d->pool;
    r = f->vkAllocateCommandBuffers(exe->device, &ai, &d->cmd);
  }
  if (r == VK_SUCCESS) r = f->vkCreateFence(exe->device, &fi, NULL, &d->fence);
  if (r != VK_SUCCESS) {
    device_free(d);
    return llmc_hal_fail(LLMC_ERR_UNSUPPORTED, "a Vulkan command buffer: error %d", r);
  }
  *out = d;
  return LLMC_OK;
}

static int32_t device_threads(const llmc_hal_device *d) {
  (void)d;
  return 1; /* one queue; the device's parallelism is the driver's */
}

static llmc_status buffer_alloc(llmc_hal_device *dev, uint64_t size, llmc_hal_buffer **out) {
  llmc_status st = make_buffer(dev->exe, size,
                               VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, out);
  if (!st) memset((*out)->host, 0, (size_t)size);
  return st;
}

static llmc_status buffer_import(llmc_hal_device *dev, const void *host, uint64_t size,
                                 llmc_hal_buffer **out) {
  /* Copied once: importing host memory (VK_EXT_external_memory_host) is
   * not used yet. */
  llmc_status st = make_buffer(dev->exe, size, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, out);
  if (!st && size) memcpy((*out)->host, host, (size_t)size);
  return st;
}

static void *buffer_host(llmc_hal_buffer *b) {
  (void)b;
  return NULL; /* reads wait for the queue: read_buffer */
}

/* Grows the slots, descriptor pool and params/indirect buffers to hold
 * `need` dispatches; the command buffer must be recorded again after. */
static llmc_status grow(llmc_hal_device *d, uint32_t need) {
  llmc_hal_executable *exe = d->exe;
  vk_fns *f = &exe->f;
  uint32_t cap = d->capacity ? d->capacity : 64;
  while (cap < need) cap *= 2;
  vk_slot *slots = realloc(d->slots, cap * sizeof *slots);
  if (!slots) return llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "out of memory");
  d->slots = slots;
  uint32_t *words = realloc(d->words, cap * d->params_stride);
  if (!words) return llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "out of memory");
  d->words = words;
  VkDispatchIndirectCommand *groups = realloc(d->groups, cap * sizeof *groups);
  if (!groups) return llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "out of memory");
  d->groups = groups;
  buffer_free(d->params);
  buffer_free(d->indirect);
  d->params = d->indirect = NULL;
  if (d->dpool) f->vkDestroyDescriptorPool(exe->device, d->dpool, NULL);
  d->dpool = VK_NULL_HANDLE;
  d->recorded = 0;
  d->capacity = 0;
  llmc_status st = make_buffer(exe, cap * d->params_stride, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
                               &d->params);
  if (!st)
    st = make_buffer(exe, cap * sizeof(VkDispatchIndirectCommand),
                     VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT, &d->indirect);
  if (st) return st;
  VkDescriptorPoolSize size = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                               cap * (LLMC_HAL_MAX_BINDINGS + 1)};
  VkDescriptorPoolCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  pi.maxSets = cap;
  pi.poolSizeCount = 1;
  pi.pPoolSizes = &size;
  VkResult r = f->vkCreateDescriptorPool(exe->device, &pi, NULL, &d->dpool);
  if (r != VK_SUCCESS)
    return llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "a Vulkan descriptor pool: error %d", r);
  d->capacity = cap;
  return LLMC_OK;
}

/* The bytes binding j's descriptor covers: the logits buffer holds only the
 * rows a context asks for (one unless it wants every position's), and the
 * kernel writes only those. */
static uint64_t range_of(const llmc_hal_dispatch *x, uint32_t j) {
  uint64_t left = x->buffers[j]->size - x->offsets[j];
  return x->sizes[j] < left ? x->sizes[j] : left;
}

static int same_slot(const vk_slot *s, const llmc_hal_dispatch *x) {
  if (s->kernel != x->kernel || s->num_bindings != x->num_bindings) return 0;
  for (uint32_t j = 0; j < x->num_bindings; ++j)
    if (s->buffers[j] != x->buffers[j] || s->offsets[j] != x->offsets[j] ||
        s->sizes[j] != range_of(x, j))
      return 0;
  return 1;
}

static llmc_status queue_dispatch(llmc_hal_device *d, llmc_hal_executable *exe,
                                  const llmc_hal_dispatch *x) {
  if (x->kernel >= exe->num_kernels)
    return llmc_hal_fail(LLMC_ERR_INVALID_ARGUMENT, "kernel %u of %u", x->kernel,
                         exe->num_kernels);
  const vk_kernel *k = &exe->kernels[x->kernel];
  if (x->num_bindings != k->num_bindings || x->num_scalars != k->num_scalars)
    return llmc_hal_fail(LLMC_ERR_INVALID_ARGUMENT, "dispatch of kernel %u: %u bindings and "
                         "%u scalars, it takes %u and %u", x->kernel, x->num_bindings,
                         x->num_scalars, k->num_bindings, k->num_scalars);
  if (x->grid < 0 || x->grid > INT32_MAX)
    return llmc_hal_fail(LLMC_ERR_INVALID_ARGUMENT, "grid %lld beyond Vulkan's 32-bit ids",
                         (long long)x->grid);
  for (uint32_t j = 0; j < x->num_scalars; ++j)
    if (x->scalars[j] < INT32_MIN || x->scalars[j] > INT32_MAX)
      return llmc_hal_fail(LLMC_ERR_INVALID_ARGUMENT, "scalar %lld beyond 32 bits",
                           (long long)x->scalars[j]);
  for (uint32_t j = 0; j < x->num_bindings; ++j)
    if (x->offsets[j] % exe->limits.minStorageBufferOffsetAlignment ||
        x->sizes[j] > exe->limits.maxStorageBufferRange || x->offsets[j] >= x->buffers[j]->size)
      return llmc_hal_fail(LLMC_ERR_UNSUPPORTED,
                           "binding %u of kernel %u: bytes [%llu, +%llu) do not fit %s "
                           "(offsets must be multiples of %llu, ranges at most %u bytes)",
                           j, x->kernel, (unsigned long long)x->offsets[j],
                           (unsigned long long)x->sizes[j], exe->device_desc,
                           (unsigned long long)exe->limits.minStorageBufferOffsetAlignment,
                           exe->limits.maxStorageBufferRange);
  if (d->count == d->capacity) {
    llmc_status st = grow(d, d->count + 1);
    if (st) return st;
    d->dirty = 1;
  }
  uint32_t i = d->count++;
  vk_slot *s = &d->slots[i];
  if (i >= d->recorded || !same_slot(s, x)) {
    d->dirty = 1;
    s->kernel = x->kernel;
    s->num_bindings = x->num_bindings;
    for (uint32_t j = 0; j < x->num_bindings; ++j) {
      s->buffers[j] = x->buffers[j];
      s->offsets[j] = x->offsets[j];
      s->sizes[j] = range_of(x, j);
    }
  }
  int32_t *w = (int32_t *)((uint8_t *)d->words + i * d->params_stride);
  for (uint32_t j = 0; j < x->num_scalars; ++j) w[j] = (int32_t)x->scalars[j];
  w[x->num_scalars] = (int32_t)x->grid;
  /* Workgroups for the grid, over y beyond the x limit; the kernels
   * rebuild the linear id and return past the grid. */
  uint64_t wg = k->local_size;
  uint64_t n = ((uint64_t)x->grid + wg - 1) / wg;
  uint64_t maxx = exe->limits.maxComputeWorkGroupCount[0];
  uint64_t gx = n < maxx ? n : maxx, gy = gx ? (n + gx - 1) / gx : 0;
  if (gy > exe->limits.maxComputeWorkGroupCount[1])
    return llmc_hal_fail(LLMC_ERR_UNSUPPORTED, "grid %lld is too large for %s",
                         (long long)x->grid, exe->device_desc);
  d->groups[i].x = (uint32_t)gx;
  d->groups[i].y = (uint32_t)(gy ? gy : 1);
  d->groups[i].z = 1;
  if (gx == 0) d->groups[i].y = 1;
  return LLMC_OK;
}

/* A failed dispatch drops the call queued so far: the next one starts
 * clean. */
static llmc_status dispatch(llmc_hal_device *d, llmc_hal_executable *exe,
                            const llmc_hal_dispatch *x) {
  llmc_status st = queue_dispatch(d, exe, x);
  if (st) {
    d->count = 0;
    d->dirty = 1;
  }
  return st;
}

/* Writes the descriptor sets of every slot and records the call. */
static llmc_status record(llmc_hal_device *d) {
  llmc_hal_executable *exe = d->exe;
  vk_fns *f = &exe->f;
  VkResult r = VK_SUCCESS;
  /* Recording is rare (the first call, or a call unlike the recorded
   * one), so the sets are simply allocated anew. */
  f->vkResetDescriptorPool(exe->device, d->dpool, 0);
  for (uint32_t i = 0; i < d->count; ++i) {
    vk_slot *s = &d->slots[i];
    VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    ai.descriptorPool = d->dpool;
    ai.descriptorSetCount = 1;
    ai.pSetLayouts = &exe->kernels[s->kernel].set_layout;
    if ((r = f->vkAllocateDescriptorSets(exe->device, &ai, &s->set)) != VK_SUCCESS) break;
    VkDescriptorBufferInfo bi[LLMC_HAL_MAX_BINDINGS + 1];
    VkWriteDescriptorSet wr[LLMC_HAL_MAX_BINDINGS + 1];
    for (uint32_t j = 0; j <= s->num_bindings; ++j) {
      if (j < s->num_bindings) {
        bi[j].buffer = s->buffers[j]->buffer;
        bi[j].offset = s->offsets[j];
        bi[j].range = s->sizes[j];
      } else {
        bi[j].buffer = d->params->buffer;
        bi[j].offset = i * d->params_stride;
        bi[j].range = PARAMS_WORDS * 4;
      }
      memset(&wr[j], 0, sizeof wr[j]);
      wr[j].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
      wr[j].dstSet = s->set;
      wr[j].dstBinding = j;
      wr[j].descriptorCount = 1;
      wr[j].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
      wr[j].pBufferInfo = &bi[j];
    }
    f->vkUpdateDescriptorSets(exe->device, s->num_bindings + 1, wr, 0, NULL);
  }
  if (r != VK_SUCCESS)
    return llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "Vulkan descriptor sets: error %d", r);
  VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  if ((r = f->vkResetCommandBuffer(d->cmd, 0)) || (r = f->vkBeginCommandBuffer(d->cmd, &bi)))
    return llmc_hal_fail(LLMC_ERR_UNSUPPORTED, "vkBeginCommandBuffer: error %d", r);
  VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
  for (uint32_t i = 0; i < d->count; ++i) {
    const vk_slot *s = &d->slots[i];
    const vk_kernel *k = &exe->kernels[s->kernel];
    f->vkCmdBindPipeline(d->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, k->pipeline);
    f->vkCmdBindDescriptorSets(d->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, k->layout, 0, 1,
                               &s->set, 0, NULL);
    f->vkCmdDispatchIndirect(d->cmd, d->indirect->buffer,
                             i * sizeof(VkDispatchIndirectCommand));
    /* Each dispatch sees every effect of the ones before it. */
    f->vkCmdPipelineBarrier(d->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                            VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0, NULL, 0,
                            NULL);
  }
  VkMemoryBarrier hb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  hb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
  hb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  f->vkCmdPipelineBarrier(d->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                          VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &hb, 0, NULL, 0, NULL);
  if ((r = f->vkEndCommandBuffer(d->cmd)) != VK_SUCCESS)
    return llmc_hal_fail(LLMC_ERR_UNSUPPORTED, "vkEndCommandBuffer: error %d", r);
  d->recorded = d->count;
  d->dirty = 0;
  return LLMC_OK;
}

static llmc_status barrier(llmc_hal_device *d) {
  llmc_hal_executable *exe = d->exe;
  vk_fns *f = &exe->f;
  llmc_status st = LLMC_OK;
  if (d->count == 0) return st;
  /* A call shorter than the recording (or different) records anew. */
  if (d->dirty || d->count != d->recorded) st = record(d);
  if (!st) {
    memcpy(d->params->host, d->words, d->count * d->params_stride);
    memcpy(d->indirect->host, d->groups, d->count * sizeof *d->groups);
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &d->cmd;
    pthread_mutex_lock(&exe->queue_lock);
    VkResult r = f->vkQueueSubmit(exe->queue, 1, &si, d->fence);
    pthread_mutex_unlock(&exe->queue_lock);
    if (r == VK_SUCCESS) r = f->vkWaitForFences(exe->device, 1, &d->fence, VK_TRUE, UINT64_MAX);
    if (r == VK_SUCCESS) r = f->vkResetFences(exe->device, 1, &d->fence);
    if (r != VK_SUCCESS)
      st = llmc_hal_fail(r == VK_ERROR_DEVICE_LOST ? LLMC_ERR_UNSUPPORTED : LLMC_ERR_OUT_OF_MEMORY,
                         "running the kernels on %s failed (Vulkan error %d)",
                         exe->device_desc, r);
  }
  d->count = 0;
  if (!st && validation_count() != exe->validation_base)
    st = llmc_hal_fail(LLMC_ERR_UNSUPPORTED, "Vulkan validation reported problems (above)");
  return st;
}

/* Bytes [offset, offset + n) of a buffer's mapping, after every queued
 * dispatch has run (a read must see them; a write must not change what
 * they read). */
static llmc_status host_bytes(llmc_hal_device *d, llmc_hal_buffer *b, uint64_t offset,
                              uint64_t n, uint8_t **out) {
  llmc_status st = barrier(d);
  if (st) return st;
  if (offset > b->size || n > b->size - offset)
    return llmc_hal_fail(LLMC_ERR_INVALID_ARGUMENT, "access beyond a buffer");
  *out = (uint8_t *)b->host + offset;
  return LLMC_OK;
}

static llmc_status read_buffer(llmc_hal_device *d, llmc_hal_buffer *b, uint64_t offset,
                               void *dst, uint64_t n) {
  uint8_t *p;
  llmc_status st = host_bytes(d, b, offset, n, &p);
  if (!st) memcpy(dst, p, (size_t)n);
  return st;
}

static llmc_status write_buffer(llmc_hal_device *d, llmc_hal_buffer *b, uint64_t offset,
                                const void *src, uint64_t n) {
  uint8_t *p;
  llmc_status st = host_bytes(d, b, offset, n, &p);
  if (!st) memcpy(p, src, (size_t)n);
  return st;
}

static const llmc_hal k_vulkan_hal = {
    "vulkan",      executable_load, executable_free, executable_device,
    device_create, device_free,     device_threads,  buffer_alloc,
    buffer_import, buffer_free,     buffer_host,     dispatch,
    barrier,       read_buffer,     write_buffer,
};

const llmc_hal *llmc_hal_vulkan(void) { return &k_vulkan_hal; }

#endif /* LLMC_NO_VULKAN */
