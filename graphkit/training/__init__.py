"""The training package behind ``Model.compile``/``fit``/``evaluate``/``predict`` (Keras 3's
``trainers``): ``trainer`` (the loops), ``compile_utils`` and ``compile_specs`` (the compiled
loss and metrics), ``step_dispatch`` (built-in or overridden steps), ``epoch_iterator``,
``model_data`` and ``data_adapter`` (user data in batches)."""
