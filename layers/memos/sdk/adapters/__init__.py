"""Framework adapters over the SDK (``pip install memos[adapters]``): a LangGraph store and a LangChain
chat message history. Each module imports its framework, so import the one you use."""
