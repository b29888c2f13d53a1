"""Extract tool specs from the modelscope-agent 0.7.2 wheel source via ast (no import, no network),
then build OpenAI function JSON exactly like modelscope_agent.tools.base.BaseTool._build_function (schema='oai'),
mapping the two non-JSON-Schema type words ('int'->'integer', 'dict'->'object') and adding `enum` only where the
parameter description states a closed option list."""
import ast, json, sys
ROOT = "/tmp/evalwork/ms/"
SEL = [  # (file in wheel, class-level tool name)
    ("modelscope_agent/tools/amap_weather.py", "amap_weather"),
    ("modelscope_agent/tools/web_search/web_search.py", "web_search"),
    ("modelscope_agent/tools/web_browser.py", "web_browser"),
    ("modelscope_agent/tools/dashscope_tools/image_generation.py", "image_gen"),
    ("modelscope_agent/tools/dashscope_tools/qwen_vl.py", "qwen_vl"),
    ("modelscope_agent/tools/dashscope_tools/paraformer_asr_tool.py", "paraformer_asr"),
    ("modelscope_agent/tools/modelscope_tools/translation_en2zh_tool.py", "text-translation-en2zh"),
    ("modelscope_agent/tools/modelscope_tools/translation_zh2en_tool.py", "text-translation-zh2en"),
    ("modelscope_agent/tools/modelscope_tools/text_address_tool.py", "text-address"),
    ("modelscope_agent/tools/modelscope_tools/text_ner_tool.py", "text-ner"),
    ("modelscope_agent/tools/modelscope_tools/text_to_speech_tool.py", "speech-generation"),
    ("modelscope_agent/tools/modelscope_tools/text_to_video_tool.py", "video-generation"),
    ("modelscope_agent/tools/rapidapi_tools/Finance/current_exchage.py", "exchange_for_current_exchange"),
]
ENUMS = {  # closed option lists stated in the authors' parameter descriptions
    ("image_gen", "resolution"): ["1024*1024", "720*1280", "1280*720"],
    ("speech-generation", "voice"): ["zhitian_emo", "zhiyan_emo", "zhizhe_emo", "zhibei_emo"],
}
TYPEMAP = {"int": "integer", "dict": "object"}

def class_attrs(path, want):
    tree = ast.parse(open(ROOT + path, encoding="utf-8").read())
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            attrs = {}
            for st in node.body:
                if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name):
                    k = st.targets[0].id; v = st.value
                elif isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name):
                    k = st.target.id; v = st.value
                else:
                    continue
                if k in ("name", "description", "parameters"):
                    attrs[k] = ast.literal_eval(v)
            if attrs.get("name") == want:
                return node.name, attrs
    raise KeyError(want)

tools, prov = [], []
for path, want in SEL:
    cls, a = class_attrs(path, want)
    fn = {"name": a["name"], "description": a["description"],
          "parameters": {"type": "object", "properties": {}, "required": []}}
    for p in a["parameters"]:
        d = {"type": TYPEMAP.get(p["type"], p["type"]), "description": p["description"]}
        if (a["name"], p["name"]) in ENUMS:
            d["enum"] = ENUMS[(a["name"], p["name"])]
        fn["parameters"]["properties"][p["name"]] = d
        if p.get("required"):
            fn["parameters"]["required"].append(p["name"])
    tools.append({"type": "function", "function": fn})
    prov.append({"name": a["name"], "class": cls, "file": path, "raw_parameters": a["parameters"]})
json.dump(tools, open(sys.argv[1], "w", encoding="utf-8"), indent=2, ensure_ascii=False)
json.dump(prov, open(sys.argv[2], "w", encoding="utf-8"), indent=2, ensure_ascii=False)
print(len(tools), [t["function"]["name"] for t in tools])
